import { caveatTypeText, ELLIPSIS, formatRewrite, type AllowedSubjectIR, type CaveatIR, type DefinitionIR, type PermissionIR, type RelationIR, type RewriteIR, type SchemaIR } from '../../../schema-dsl/index.js';

// SpiceDB's schema reflection (ReflectSchema, ComputablePermissions, DependentRelations,
// DiffSchema) over Warden's compiled schema, as authzed.api.v1 messages.

/** One of ReflectSchemaRequest's filters: name prefixes, each optional. */
export interface ReflectionFilter {
  readonly optional_definition_name_filter: string;
  readonly optional_caveat_name_filter: string;
  readonly optional_relation_name_filter: string;
  readonly optional_permission_name_filter: string;
}

const comment = (lines: readonly string[]): string => lines.join('\n');

function typeReference(a: AllowedSubjectIR) {
  const ref = { subject_definition_name: a.type, optional_caveat_name: a.caveat ?? '' };
  if (a.wildcard) return { ...ref, is_public_wildcard: true };
  if (a.relation === ELLIPSIS) return { ...ref, is_terminal_subject: true };
  return { ...ref, optional_relation_name: a.relation };
}

const relationMessage = (def: string, r: RelationIR) => ({ name: r.name, comment: comment(r.comments), parent_definition_name: def, subject_types: r.allowed.map(typeReference) });
const permissionMessage = (def: string, p: PermissionIR) => ({ name: p.name, comment: comment(p.comments), parent_definition_name: def });
const parameterMessages = (c: CaveatIR) => c.params.map((p) => ({ name: p.name, type: caveatTypeText(p.type), parent_caveat_name: c.name }));
const caveatMessage = (c: CaveatIR) => ({ name: c.name, comment: comment(c.comments), parameters: parameterMessages(c), expression: c.expression });

function definitionMessage(d: DefinitionIR, keepMember: (m: RelationIR | PermissionIR) => boolean = () => true) {
  const members = d.members.filter(keepMember);
  return {
    name: d.name,
    comment: comment(d.comments),
    relations: members.filter((m): m is RelationIR => m.kind === 'relation').map((r) => relationMessage(d.name, r)),
    permissions: members.filter((m): m is PermissionIR => m.kind === 'permission').map((p) => permissionMessage(d.name, p)),
  };
}

/** ReflectSchema: the definitions and caveats, those matching any filter when filters are given (names by prefix). */
export function reflectSchema(ir: SchemaIR, filters: readonly ReflectionFilter[]) {
  if (!filters.length) return { definitions: ir.definitions.map((d) => definitionMessage(d)), caveats: ir.caveats.map(caveatMessage) };
  const definitions = [];
  for (const d of ir.definitions) {
    const matching = filters.filter((f) => (f.optional_definition_name_filter ? d.name.startsWith(f.optional_definition_name_filter) : !f.optional_caveat_name_filter));
    if (!matching.length) continue;
    const keep = (m: RelationIR | PermissionIR): boolean =>
      matching.some((f) => {
        const byRelation = f.optional_relation_name_filter;
        const byPermission = f.optional_permission_name_filter;
        if (!byRelation && !byPermission) return true;
        return m.kind === 'relation' ? !!byRelation && m.name.startsWith(byRelation) : !!byPermission && m.name.startsWith(byPermission);
      });
    definitions.push(definitionMessage(d, keep));
  }
  const caveats = ir.caveats.filter((c) => filters.some((f) => (f.optional_caveat_name_filter ? c.name.startsWith(f.optional_caveat_name_filter) : !f.optional_definition_name_filter))).map(caveatMessage);
  return { definitions, caveats };
}

/** A member of a definition, by `definition#name`. */
type Ref = string;

/** What each permission reads directly: its own definition's members, and through arrows the members of the tupleset's subject types. */
function directDependencies(ir: SchemaIR): Map<Ref, Set<Ref>> {
  const defs = new Map(ir.definitions.map((d) => [d.name, d]));
  const deps = new Map<Ref, Set<Ref>>();
  for (const d of ir.definitions) {
    for (const m of d.members) {
      if (m.kind !== 'permission') continue;
      const out = new Set<Ref>();
      const walk = (e: RewriteIR): void => {
        switch (e.kind) {
          case 'nil':
            return;
          case 'computed':
            out.add(`${d.name}#${e.relation}`);
            return;
          case 'arrow': {
            out.add(`${d.name}#${e.tupleset}`);
            const ts = d.members.find((x): x is RelationIR => x.kind === 'relation' && x.name === e.tupleset);
            for (const t of new Set(ts?.allowed.map((a) => a.type) ?? [])) {
              if (defs.get(t)?.members.some((x) => x.name === e.computed)) out.add(`${t}#${e.computed}`);
            }
            return;
          }
          case 'union':
          case 'intersection':
            e.children.forEach(walk);
            return;
          case 'exclusion':
            walk(e.base);
            walk(e.subtract);
            return;
        }
      };
      walk(m.rewrite);
      deps.set(`${d.name}#${m.name}`, out);
    }
  }
  return deps;
}

function referenceMessage(ir: SchemaIR, ref: Ref) {
  const [definition_name, relation_name] = ref.split('#') as [string, string];
  const member = ir.definitions.find((d) => d.name === definition_name)?.members.find((m) => m.name === relation_name);
  return { definition_name, relation_name, is_permission: member?.kind === 'permission' };
}

const byName = (a: Ref, b: Ref): number => (a < b ? -1 : a > b ? 1 : 0);

/** ComputablePermissions: every permission computed, directly or not, from `definition#relation`. */
export function computablePermissions(ir: SchemaIR, definition: string, relation: string, definitionPrefix: string) {
  const deps = directDependencies(ir);
  const found = new Set<Ref>();
  let frontier: Ref[] = [`${definition}#${relation}`];
  while (frontier.length) {
    const next: Ref[] = [];
    for (const [perm, uses] of deps) if (!found.has(perm) && frontier.some((f) => uses.has(f))) (found.add(perm), next.push(perm));
    frontier = next;
  }
  return [...found].filter((r) => r.startsWith(definitionPrefix)).sort(byName).map((r) => referenceMessage(ir, r));
}

/** DependentRelations: every relation and permission `definition#permission` is computed from, directly or not. */
export function dependentRelations(ir: SchemaIR, definition: string, permission: string) {
  const deps = directDependencies(ir);
  const start = `${definition}#${permission}`;
  const found = new Set<Ref>();
  const todo = [...(deps.get(start) ?? [])];
  while (todo.length) {
    const r = todo.pop()!;
    if (found.has(r) || r === start) continue;
    found.add(r);
    todo.push(...(deps.get(r) ?? []));
  }
  return [...found].sort(byName).map((r) => referenceMessage(ir, r));
}

/** DiffSchema: what changes from `a` (the stored schema) to `b` (the one compared). */
export function diffSchemas(a: SchemaIR, b: SchemaIR) {
  const out: Record<string, unknown>[] = [];
  const named = <T extends { name: string }>(xs: readonly T[]) => new Map(xs.map((x) => [x.name, x]));
  const da = named(a.definitions);
  const db = named(b.definitions);
  for (const [name, d] of da) if (!db.has(name)) out.push({ definition_removed: definitionMessage(d) });
  for (const [name, d] of db) {
    const old = da.get(name);
    if (!old) {
      out.push({ definition_added: definitionMessage(d) });
      continue;
    }
    if (comment(old.comments) !== comment(d.comments)) out.push({ definition_doc_comment_changed: definitionMessage(d) });
    const ma = named(old.members);
    const mb = named(d.members);
    for (const [mn, m] of ma) {
      const now = mb.get(mn);
      if (!now || now.kind !== m.kind) out.push(m.kind === 'relation' ? { relation_removed: relationMessage(name, m) } : { permission_removed: permissionMessage(name, m) });
    }
    for (const [mn, m] of mb) {
      const was = ma.get(mn);
      if (!was || was.kind !== m.kind) {
        out.push(m.kind === 'relation' ? { relation_added: relationMessage(name, m) } : { permission_added: permissionMessage(name, m) });
        continue;
      }
      if (comment(was.comments) !== comment(m.comments)) out.push(m.kind === 'relation' ? { relation_doc_comment_changed: relationMessage(name, m) } : { permission_doc_comment_changed: permissionMessage(name, m) });
      if (m.kind === 'permission' && was.kind === 'permission' && formatRewrite(was.rewrite) !== formatRewrite(m.rewrite)) out.push({ permission_expr_changed: permissionMessage(name, m) });
      if (m.kind === 'relation' && was.kind === 'relation') {
        const key = (x: AllowedSubjectIR) => JSON.stringify(typeReference(x));
        const before = new Map(was.allowed.map((x) => [key(x), x]));
        const after = new Map(m.allowed.map((x) => [key(x), x]));
        for (const [k, x] of before) if (!after.has(k)) out.push({ relation_subject_type_removed: { relation: relationMessage(name, m), changed_subject_type: typeReference(x) } });
        for (const [k, x] of after) if (!before.has(k)) out.push({ relation_subject_type_added: { relation: relationMessage(name, m), changed_subject_type: typeReference(x) } });
      }
    }
  }
  const ca = named(a.caveats);
  const cb = named(b.caveats);
  for (const [name, c] of ca) if (!cb.has(name)) out.push({ caveat_removed: caveatMessage(c) });
  for (const [name, c] of cb) {
    const old = ca.get(name);
    if (!old) {
      out.push({ caveat_added: caveatMessage(c) });
      continue;
    }
    if (comment(old.comments) !== comment(c.comments)) out.push({ caveat_doc_comment_changed: caveatMessage(c) });
    if (old.expression !== c.expression) out.push({ caveat_expr_changed: caveatMessage(c) });
    const pa = named(parameterMessages(old));
    const pb = named(parameterMessages(c));
    for (const [pn, p] of pa) if (!pb.has(pn)) out.push({ caveat_parameter_removed: p });
    for (const [pn, p] of pb) {
      const was = pa.get(pn);
      if (!was) out.push({ caveat_parameter_added: p });
      else if (was.type !== p.type) out.push({ caveat_parameter_type_changed: { parameter: p, previous_type: was.type } });
    }
  }
  return out;
}
