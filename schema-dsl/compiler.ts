import type { CaveatAst, CaveatTypeRef, DefinitionAst, ExprAst, SchemaAst } from './ast.js';
import type { AllowedSubjectIR, CaveatIR, DefinitionIR, PermissionIR, RelationIR, RewriteIR, SchemaIR } from './ir.js';
import { ELLIPSIS } from './ir.js';
import { celTypeOf, checkCaveatExpression } from './caveat-check.js';
import { CAVEAT_TYPES, DEFINITION_NAME, PARAMETER_NAME, RELATION_NAME } from './names.js';
import { parseSchema } from './parser.js';
import { SchemaError, diagnosticAt, type SchemaDiagnostic, type SourcePosition } from './position.js';

/** The features `use` may switch on. */
const FEATURES = new Set(['expiration']);

/** Parses and compiles schema text; throws SchemaError listing every problem with line:column. */
export function compileSchema(source: string): SchemaIR {
  try {
    return compileAst(parseSchema(source));
  } catch (e) {
    // The parser's limits keep expressions shallow; this is the backstop for whatever else is deep.
    if (e instanceof RangeError) throw new SchemaError([{ message: 'the schema is nested too deeply to compile: simplify its expressions', line: 1, column: 1 }]);
    throw e;
  }
}

/** Compiles a parsed schema to IR, validating names, references and the rules of the type system. */
export function compileAst(ast: SchemaAst): SchemaIR {
  const c = new Compiler();
  const ir = c.compile(ast);
  if (c.diagnostics.length) throw new SchemaError(c.diagnostics);
  return ir;
}

class Compiler {
  readonly diagnostics: SchemaDiagnostic[] = [];

  #err(pos: SourcePosition, message: string): void {
    this.diagnostics.push(diagnosticAt(pos, message));
  }

  compile(ast: SchemaAst): SchemaIR {
    let useExpiration = false;
    const caveats: CaveatIR[] = [];
    const definitions: DefinitionIR[] = [];
    const seen = new Map<string, string>();
    for (const item of ast.items) {
      if (item.kind === 'use') {
        if (!FEATURES.has(item.feature)) this.#err(item.pos, `unknown feature \`${item.feature}\` in \`use\``);
        else if (useExpiration) this.#err(item.pos, `\`use ${item.feature}\` appears twice`);
        useExpiration = true;
        continue;
      }
      const what = item.kind === 'caveat' ? 'caveat' : 'definition';
      const prev = seen.get(item.name);
      if (prev) this.#err(item.pos, `duplicate ${what} \`${item.name}\` (already defined as a ${prev})`);
      seen.set(item.name, what);
      if (!DEFINITION_NAME.test(item.name)) {
        this.#err(
          item.pos,
          `invalid ${what} name \`${item.name}\`: use lowercase letters, digits and \`_\`, 3 to 64 characters, starting with a letter, optionally prefixed \`prefix/\``,
        );
      }
      if (item.kind === 'caveat') caveats.push(this.#caveat(item));
      else definitions.push(this.#definition(item));
    }
    const ir: SchemaIR = { useExpiration, caveats, definitions };
    new SchemaChecker(ir, (p, m) => this.#err(p, m)).check();
    return ir;
  }

  #caveat(c: CaveatAst): CaveatIR {
    const names = new Set<string>();
    for (const p of c.params) {
      if (names.has(p.name)) this.#err(p.pos, `duplicate parameter \`${p.name}\` in caveat \`${c.name}\``);
      names.add(p.name);
      if (!PARAMETER_NAME.test(p.name)) this.#err(p.pos, `invalid parameter name \`${p.name}\` in caveat \`${c.name}\``);
      this.#caveatType(p.type, p.pos, `parameter \`${p.name}\` of caveat \`${c.name}\``);
    }
    if (!c.params.length) this.#err(c.pos, `caveat \`${c.name}\` must declare at least one parameter`);
    if (!c.expression) this.#err(c.expressionPos, `caveat \`${c.name}\` has an empty expression`);
    else if (c.params.every((p) => validCaveatType(p.type))) {
      const check = checkCaveatExpression(c.expression, new Map(c.params.map((p) => [p.name, celTypeOf(p.type)])));
      for (const problem of check.problems) {
        this.#err(positionIn(c.expressionPos, c.expression, problem.offset), `in caveat \`${c.name}\`: ${problem.message}`);
      }
      if (!check.problems.length) {
        for (const p of c.params) {
          if (!check.used.has(p.name)) this.#err(p.pos, `parameter \`${p.name}\` of caveat \`${c.name}\` is never used`);
        }
      }
    }
    return {
      kind: 'caveat',
      name: c.name,
      comments: c.comments,
      params: c.params.map((p) => ({ name: p.name, type: p.type, pos: p.pos })),
      expression: c.expression,
      expressionPos: c.expressionPos,
      pos: c.pos,
    };
  }

  #caveatType(t: CaveatTypeRef, pos: SourcePosition, where: string): void {
    const arity = CAVEAT_TYPES.get(t.name);
    if (arity === undefined) {
      this.#err(pos, `unknown type \`${t.name}\` for ${where}; expected one of ${[...CAVEAT_TYPES.keys()].join(', ')}`);
      return;
    }
    if (t.args.length !== arity) {
      this.#err(pos, `type \`${t.name}\` takes ${arity} type argument${arity === 1 ? '' : 's'} (${where})`);
    }
    for (const a of t.args) this.#caveatType(a, pos, where);
  }

  #definition(d: DefinitionAst): DefinitionIR {
    const members: (RelationIR | PermissionIR)[] = [];
    const names = new Set<string>();
    for (const m of d.members) {
      if (names.has(m.name)) this.#err(m.pos, `duplicate relation or permission \`${m.name}\` in definition \`${d.name}\``);
      names.add(m.name);
      if (!RELATION_NAME.test(m.name)) {
        this.#err(
          m.pos,
          `invalid ${m.kind} name \`${m.name}\`: use lowercase letters, digits and \`_\`, 3 to 64 characters, starting with a letter`,
        );
      }
      if (m.kind === 'relation') {
        const allowed: AllowedSubjectIR[] = m.allowed.map((a) => ({
          type: a.type,
          relation: a.relation ?? ELLIPSIS,
          wildcard: a.wildcard,
          caveat: a.caveat ?? null,
          expiration: a.expiration,
          pos: a.pos,
        }));
        members.push({ kind: 'relation', name: m.name, comments: m.comments, allowed, pos: m.pos });
      } else {
        members.push({ kind: 'permission', name: m.name, comments: m.comments, rewrite: toRewrite(m.expr), pos: m.pos });
      }
    }
    return { kind: 'definition', name: d.name, comments: d.comments, members, pos: d.pos };
  }
}

/** True when a caveat parameter type and its arguments are known with the right arity. */
function validCaveatType(t: CaveatTypeRef): boolean {
  return CAVEAT_TYPES.get(t.name) === t.args.length && t.args.every(validCaveatType);
}

/** The schema position of an offset into text that starts at `start`. */
function positionIn(start: SourcePosition, text: string, offset: number): SourcePosition {
  const before = text.slice(0, offset);
  const nl = before.lastIndexOf('\n');
  if (nl < 0) return { line: start.line, column: start.column + offset, offset: start.offset + offset };
  const lines = before.split('\n').length - 1;
  return { line: start.line + lines, column: offset - nl, offset: start.offset + offset };
}

/** Converts a parsed expression to IR, flattening chains of `+` and of `&`. */
function toRewrite(e: ExprAst): RewriteIR {
  switch (e.kind) {
    case 'ref':
      return { kind: 'computed', relation: e.name, pos: e.pos };
    case 'nil':
      return { kind: 'nil', pos: e.pos };
    case 'arrow':
      return { kind: 'arrow', tupleset: e.tupleset, computed: e.target, fn: e.fn, pos: e.pos };
    case 'exclusion':
      return { kind: 'exclusion', base: toRewrite(e.left), subtract: toRewrite(e.right), pos: e.pos };
    case 'union':
    case 'intersection': {
      const children: RewriteIR[] = [];
      for (const side of [e.left, e.right]) {
        const r = toRewrite(side);
        if (r.kind === e.kind) children.push(...r.children);
        else children.push(r);
      }
      return { kind: e.kind, children, pos: e.pos };
    }
    default: {
      const never: never = e;
      throw new Error(`unknown expression ${JSON.stringify(never)}`);
    }
  }
}

/** Validates references and type-system rules over the whole IR. */
class SchemaChecker {
  readonly #ir: SchemaIR;
  readonly #err: (pos: SourcePosition, message: string) => void;
  readonly #defs = new Map<string, DefinitionIR>();
  readonly #caveats = new Set<string>();

  constructor(ir: SchemaIR, err: (pos: SourcePosition, message: string) => void) {
    this.#ir = ir;
    this.#err = err;
    for (const d of ir.definitions) if (!this.#defs.has(d.name)) this.#defs.set(d.name, d);
    for (const c of ir.caveats) this.#caveats.add(c.name);
  }

  #member(type: string, name: string): RelationIR | PermissionIR | undefined {
    return this.#defs.get(type)?.members.find((m) => m.name === name);
  }

  check(): void {
    for (const d of this.#ir.definitions) {
      for (const m of d.members) {
        if (m.kind === 'relation') this.#relation(d, m);
        else this.#rewrite(d, m, m.rewrite);
      }
      this.#permissionCycles(d);
    }
  }

  #relation(d: DefinitionIR, r: RelationIR): void {
    if (!r.allowed.length) this.#err(r.pos, `relation \`${d.name}#${r.name}\` has no allowed subject types`);
    const seen = new Set<string>();
    for (const a of r.allowed) {
      const key = `${a.type}#${a.relation}${a.wildcard ? ':*' : ''} ${a.caveat ?? ''} ${a.expiration}`;
      const shown = a.wildcard ? `${a.type}:*` : a.relation === ELLIPSIS ? a.type : `${a.type}#${a.relation}`;
      if (seen.has(key)) this.#err(a.pos, `duplicate allowed type \`${shown}\` in relation \`${d.name}#${r.name}\``);
      seen.add(key);
      const target = this.#defs.get(a.type);
      if (!target) {
        this.#err(a.pos, `unknown type \`${a.type}\` in relation \`${d.name}#${r.name}\``);
        continue;
      }
      if (a.relation !== ELLIPSIS && !target.members.some((m) => m.name === a.relation)) {
        this.#err(a.pos, `unknown relation or permission \`${a.type}#${a.relation}\` in relation \`${d.name}#${r.name}\``);
      }
      if (a.caveat !== null && !this.#caveats.has(a.caveat)) {
        this.#err(a.pos, `unknown caveat \`${a.caveat}\` in relation \`${d.name}#${r.name}\``);
      }
      if (a.expiration && !this.#ir.useExpiration) {
        this.#err(a.pos, `\`with expiration\` in relation \`${d.name}#${r.name}\` needs \`use expiration\` at the top of the schema`);
      }
      if (a.relation !== ELLIPSIS) {
        const via = this.#wildcardVia(a.type, a.relation, new Set());
        if (via) {
          this.#err(
            a.pos,
            `relation \`${d.name}#${r.name}\` includes \`${a.type}#${a.relation}\`, which allows the wildcard \`${via}\`: a wildcard cannot be reached through a subject relation`,
          );
        }
      }
    }
  }

  /** Returns the wildcard `type:*` a relation admits directly or through subject relations, if any. */
  #wildcardVia(type: string, relation: string, visited: Set<string>): string | undefined {
    const key = `${type}#${relation}`;
    if (visited.has(key)) return undefined;
    visited.add(key);
    const m = this.#member(type, relation);
    if (!m || m.kind !== 'relation') return undefined;
    for (const a of m.allowed) {
      if (a.wildcard) return `${a.type}:*`;
      if (a.relation !== ELLIPSIS) {
        const w = this.#wildcardVia(a.type, a.relation, visited);
        if (w) return w;
      }
    }
    return undefined;
  }

  #rewrite(d: DefinitionIR, p: PermissionIR, e: RewriteIR): void {
    switch (e.kind) {
      case 'nil':
        return;
      case 'computed':
        if (!d.members.some((m) => m.name === e.relation)) {
          this.#err(e.pos, `unknown relation or permission \`${e.relation}\` in permission \`${d.name}#${p.name}\``);
        }
        return;
      case 'arrow': {
        const ts = d.members.find((m) => m.name === e.tupleset);
        const shown = e.fn === 'arrow' ? `${e.tupleset}->${e.computed}` : `${e.tupleset}.${e.fn}(${e.computed})`;
        if (!ts) {
          this.#err(e.pos, `unknown relation \`${e.tupleset}\` on the left of \`${shown}\` in permission \`${d.name}#${p.name}\``);
          return;
        }
        if (ts.kind === 'permission') {
          this.#err(
            e.pos,
            `\`${e.tupleset}\` is a permission: the left of an arrow (\`${shown}\`) must be a relation, in permission \`${d.name}#${p.name}\``,
          );
          return;
        }
        const wild = ts.allowed.find((a) => a.wildcard);
        if (wild) {
          this.#err(
            e.pos,
            `relation \`${e.tupleset}\` allows the wildcard \`${wild.type}:*\`, so it cannot be the left of an arrow (\`${shown}\`), in permission \`${d.name}#${p.name}\``,
          );
          return;
        }
        const types = [...new Set(ts.allowed.map((a) => a.type))].filter((t) => this.#defs.has(t));
        if (types.length && !types.some((t) => this.#member(t, e.computed))) {
          this.#err(
            e.pos,
            `\`${e.computed}\` in \`${shown}\` is not a relation or permission of any type \`${e.tupleset}\` allows (${types.join(', ')}), in permission \`${d.name}#${p.name}\``,
          );
        }
        return;
      }
      case 'union':
      case 'intersection':
        for (const c of e.children) this.#rewrite(d, p, c);
        return;
      case 'exclusion':
        this.#rewrite(d, p, e.base);
        this.#rewrite(d, p, e.subtract);
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown rewrite ${JSON.stringify(never)}`);
      }
    }
  }

  /** Reports permissions that depend on themselves through permissions alone (no relation between). */
  #permissionCycles(d: DefinitionIR): void {
    const perms = new Map(d.members.filter((m): m is PermissionIR => m.kind === 'permission').map((p) => [p.name, p]));
    const state = new Map<string, 'visiting' | 'done'>();
    const reported = new Set<string>();
    const visit = (name: string, path: string[]): void => {
      const s = state.get(name);
      if (s === 'done') return;
      if (s === 'visiting') {
        const cycle = [...path.slice(path.indexOf(name)), name];
        const p = perms.get(name)!;
        if (!reported.has(name)) {
          reported.add(name);
          this.#err(p.pos, `permission \`${d.name}#${name}\` depends on itself: ${cycle.join(' -> ')}`);
        }
        return;
      }
      state.set(name, 'visiting');
      for (const ref of computedRefs(perms.get(name)!.rewrite)) if (perms.has(ref)) visit(ref, [...path, name]);
      state.set(name, 'done');
    };
    for (const name of perms.keys()) visit(name, []);
  }
}

/** The names a rewrite references directly on its own object (not through arrows). */
function computedRefs(e: RewriteIR): string[] {
  switch (e.kind) {
    case 'computed':
      return [e.relation];
    case 'union':
    case 'intersection':
      return e.children.flatMap(computedRefs);
    case 'exclusion':
      return [...computedRefs(e.base), ...computedRefs(e.subtract)];
    case 'arrow':
    case 'nil':
      return [];
  }
}
