import { ELLIPSIS, formatAllowed, formatRewrite, type RewriteIR } from '../../../schema-dsl/index.js';
import type { TypeSystem } from '../../schema/type-system.js';

/** A relation or permission of a type: `document#view`. */
export interface Member {
  readonly type: string;
  readonly name: string;
}

const key = (type: string, name: string): string => `${type}#${name}`;

/** A member as it is written, for comparing two schemas: relations by their allowed subjects (with caveat bodies), permissions by their rewrite. */
function signature(schema: TypeSystem, type: string, name: string): string | null {
  const m = schema.member(type, name);
  if (!m) return null;
  if (m.kind === 'permission') return `permission ${formatRewrite(m.rewrite)}`;
  const caveats = m.allowed.map((a) => (a.caveat ? `${a.caveat}:${schema.caveat(a.caveat)?.expression ?? ''}:${JSON.stringify(schema.caveat(a.caveat)?.params.map((p) => p.name))}` : ''));
  return `relation ${m.allowed.map(formatAllowed).join(' | ')} ${caveats.join(' ')}`;
}

/** Every member of a schema. */
function members(schema: TypeSystem): Member[] {
  return schema.ir.definitions.flatMap((d) => d.members.map((m) => ({ type: d.name, name: m.name })));
}

/**
 * What each member's answers read, in one schema: a permission reads the members its rewrite
 * names (on its own type, and through an arrow, `computed` on each type the tupleset holds); a
 * relation reads the subject sets it allows. Returned reversed: for each member, those that read it.
 */
function readers(schema: TypeSystem): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  const edge = (from: string, reader: string): void => {
    let s = out.get(from);
    if (!s) out.set(from, (s = new Set()));
    s.add(reader);
  };
  for (const d of schema.ir.definitions) {
    for (const m of d.members) {
      const me = key(d.name, m.name);
      if (m.kind === 'relation') {
        for (const a of m.allowed) if (!a.wildcard && a.relation !== ELLIPSIS) edge(key(a.type, a.relation), me);
        continue;
      }
      references(m.rewrite, {
        computed: (relation) => edge(key(d.name, relation), me),
        arrow: (tupleset, computed) => {
          edge(key(d.name, tupleset), me);
          for (const a of schema.relation(d.name, tupleset)?.allowed ?? []) if (schema.member(a.type, computed)) edge(key(a.type, computed), me);
        },
      });
    }
  }
  return out;
}

/**
 * The members whose answers may differ between two schemas over relationships that differ in
 * `changedRelations` (`type#relation`): the members written differently (or present in one only),
 * the relations written to, and every member that reads one of those, directly or not, in either
 * schema. Only these need evaluating on both sides; every other answer is the same by construction.
 */
export function affectedMembers(before: TypeSystem, after: TypeSystem, changedRelations: Iterable<string> = []): Member[] {
  const all = new Map<string, Member>();
  for (const m of [...members(before), ...members(after)]) all.set(key(m.type, m.name), m);
  const seeds = new Set<string>(changedRelations);
  for (const [k, m] of all) if (signature(before, m.type, m.name) !== signature(after, m.type, m.name)) seeds.add(k);
  const graphs = [readers(before), readers(after)];
  const affected = new Set<string>();
  const queue = [...seeds];
  while (queue.length) {
    const k = queue.pop()!;
    if (affected.has(k)) continue;
    affected.add(k);
    for (const g of graphs) for (const r of g.get(k) ?? []) if (!affected.has(r)) queue.push(r);
  }
  return [...affected].filter((k) => all.has(k)).sort().map((k) => all.get(k)!);
}

/**
 * The plain subject types (and wildcard types) whose members can hold a member in a schema:
 * what LookupSubjects on it can return. Types that can only reach it as subject sets are left
 * out, as are types that cannot reach it at all.
 */
export function subjectTypes(schema: TypeSystem, type: string, name: string, seen = new Set<string>()): Set<string> {
  const out = new Set<string>();
  const k = key(type, name);
  if (seen.has(k)) return out;
  seen.add(k);
  const m = schema.member(type, name);
  if (!m) return out;
  const add = (types: Iterable<string>): void => {
    for (const t of types) out.add(t);
  };
  if (m.kind === 'relation') {
    for (const a of m.allowed) {
      if (a.wildcard || a.relation === ELLIPSIS) out.add(a.type);
      else add(subjectTypes(schema, a.type, a.relation, seen));
    }
    return out;
  }
  // What is subtracted grants nothing: only the base's subjects can hold it.
  references(
    m.rewrite,
    {
      computed: (relation) => add(subjectTypes(schema, type, relation, seen)),
      arrow: (tupleset, computed) => {
        for (const a of schema.relation(type, tupleset)?.allowed ?? []) if (schema.member(a.type, computed)) add(subjectTypes(schema, a.type, computed, seen));
      },
    },
    false,
  );
  return out;
}

/**
 * Calls `computed` for each member a rewrite names on its own type and `arrow` for each arrow;
 * with `subtracted` false, leaves out what exclusions subtract.
 */
function references(e: RewriteIR, visit: { computed(relation: string): void; arrow(tupleset: string, computed: string): void }, subtracted = true): void {
  switch (e.kind) {
    case 'computed':
      return visit.computed(e.relation);
    case 'arrow':
      return visit.arrow(e.tupleset, e.computed);
    case 'union':
    case 'intersection':
      return e.children.forEach((c) => references(c, visit, subtracted));
    case 'exclusion':
      references(e.base, visit, subtracted);
      if (subtracted) references(e.subtract, visit, subtracted);
      return;
    case 'nil':
      return;
  }
}
