import {
  ELLIPSIS,
  formatAllowed,
  type AllowedSubjectIR,
  type CaveatIR,
  type DefinitionIR,
  type PermissionIR,
  type RelationIR,
  type RewriteIR,
  type SchemaIR,
} from '../../schema-dsl/index.js';
import { failedPrecondition, invalidArgument, type ErrorReason } from '../errors/error-code.js';
import { CaveatValueError, toCelValue } from './caveat-values.js';
import { MAX_RELATIONSHIP_CONTEXT_BYTES, WILDCARD_ID, relationshipKey, type Relationship } from '../model/relationship.js';

/** Where a subject `U:id#r` flows into a stored relation `T#R` (reverse lookups start here). */
export interface RelationEntrypoint {
  readonly resourceType: string;
  readonly relation: string;
}

/** Where a subject flows through an arrow: tuples `T#tupleset@U:id` make `T:x#permission` reachable. */
export interface ArrowEntrypoint {
  readonly resourceType: string;
  readonly tupleset: string;
  readonly permission: string;
}

/**
 * TypeSystem answers questions about a compiled schema: what a type's relations and permissions
 * are, whether a relationship fits, and, for reverse lookups, where a subject's membership flows.
 */
export class TypeSystem {
  readonly ir: SchemaIR;
  readonly #defs = new Map<string, DefinitionIR>();
  /** Members by type, then name: two lookups, no key to build (this is asked on every dispatch). */
  readonly #members = new Map<string, Map<string, RelationIR | PermissionIR>>();
  readonly #caveats = new Map<string, CaveatIR>();
  readonly #relationEntries = new Map<string, RelationEntrypoint[]>();
  readonly #wildcardEntries = new Map<string, RelationEntrypoint[]>();
  readonly #computedEntries = new Map<string, string[]>();
  readonly #arrowEntries = new Map<string, ArrowEntrypoint[]>();

  constructor(ir: SchemaIR) {
    this.ir = ir;
    for (const c of ir.caveats) this.#caveats.set(c.name, c);
    for (const d of ir.definitions) {
      this.#defs.set(d.name, d);
      this.#members.set(d.name, new Map(d.members.map((m) => [m.name, m])));
    }
    for (const d of ir.definitions) {
      for (const m of d.members) {
        if (m.kind === 'relation') {
          for (const a of m.allowed) {
            const target = a.wildcard ? this.#wildcardEntries : this.#relationEntries;
            push(target, `${a.type}#${a.relation}`, { resourceType: d.name, relation: m.name });
          }
        } else {
          this.#indexRewrite(d, m, m.rewrite);
        }
      }
    }
  }

  #indexRewrite(d: DefinitionIR, p: PermissionIR, e: RewriteIR): void {
    switch (e.kind) {
      case 'computed':
        push(this.#computedEntries, `${d.name}#${e.relation}`, p.name);
        return;
      case 'arrow': {
        const ts = this.relation(d.name, e.tupleset);
        for (const type of new Set(ts?.allowed.map((a) => a.type) ?? [])) {
          if (this.member(type, e.computed)) {
            push(this.#arrowEntries, `${type}#${e.computed}`, { resourceType: d.name, tupleset: e.tupleset, permission: p.name });
          }
        }
        return;
      }
      case 'union':
      case 'intersection':
        for (const c of e.children) this.#indexRewrite(d, p, c);
        return;
      case 'exclusion':
        this.#indexRewrite(d, p, e.base);
        this.#indexRewrite(d, p, e.subtract);
        return;
      case 'nil':
        return;
    }
  }

  /** The definition of a type, or undefined. */
  definition(type: string): DefinitionIR | undefined {
    return this.#defs.get(type);
  }

  /** A relation or permission of a type, or undefined. */
  member(type: string, name: string): RelationIR | PermissionIR | undefined {
    return this.#members.get(type)?.get(name);
  }

  /** A relation (not a permission) of a type, or undefined. */
  relation(type: string, name: string): RelationIR | undefined {
    const m = this.member(type, name);
    return m?.kind === 'relation' ? m : undefined;
  }

  /** A caveat by name, or undefined. */
  caveat(name: string): CaveatIR | undefined {
    return this.#caveats.get(name);
  }

  /** Stored relations that admit subjects `type#relation` (relation `...` for plain subjects). */
  relationEntrypoints(type: string, relation: string): readonly RelationEntrypoint[] {
    return this.#relationEntries.get(`${type}#${relation}`) ?? [];
  }

  /** Stored relations that admit the wildcard `type:*`. */
  wildcardEntrypoints(type: string): readonly RelationEntrypoint[] {
    return this.#wildcardEntries.get(`${type}#${ELLIPSIS}`) ?? [];
  }

  /** Permissions of `type` whose expression names `relation` directly. */
  computedEntrypoints(type: string, relation: string): readonly string[] {
    return this.#computedEntries.get(`${type}#${relation}`) ?? [];
  }

  /** Arrows `tupleset->relation` (on any type) whose tupleset admits `type`. */
  arrowEntrypoints(type: string, relation: string): readonly ArrowEntrypoint[] {
    return this.#arrowEntries.get(`${type}#${relation}`) ?? [];
  }

  /** Checks a relationship's caveat context: its size, and that each value fits its declared parameter. */
  #validateContext(name: string, context: Readonly<Record<string, unknown>>, field: string, shown: string): void {
    const bytes = Buffer.byteLength(JSON.stringify(context));
    if (bytes > MAX_RELATIONSHIP_CONTEXT_BYTES) {
      throw invalidArgument(`${field}.caveat.context`, `caveat context is ${bytes} bytes, more than ${MAX_RELATIONSHIP_CONTEXT_BYTES}, in \`${shown}\``);
    }
    const params = new Map(this.#caveats.get(name)!.params.map((p) => [p.name, p.type]));
    for (const [key, value] of Object.entries(context)) {
      const type = params.get(key);
      if (!type) throw invalidArgument(`${field}.caveat.context.${key}`, `caveat \`${name}\` has no parameter \`${key}\`, in \`${shown}\``);
      try {
        toCelValue(value, type);
      } catch (e) {
        if (!(e instanceof CaveatValueError)) throw e;
        throw invalidArgument(`${field}.caveat.context.${key}`, `caveat \`${name}\` parameter \`${key}\`: ${e.message}, in \`${shown}\``);
      }
    }
  }

  /**
   * Checks that a relationship fits the schema: known types and relations, a subject type the
   * relation allows, and a caveat and expiration the allowed type asks for. Throws
   * FAILED_PRECONDITION naming the relationship.
   */
  validateRelationship(r: Relationship, field = 'relationship'): void {
    const shown = relationshipKey(r);
    const fail = (why: string, reason: ErrorReason = 'ERROR_REASON_INVALID_SUBJECT_TYPE'): never => {
      throw failedPrecondition(`${why} in \`${shown}\``, field, reason);
    };
    if (!this.#defs.has(r.resource.type)) fail(`unknown resource type \`${r.resource.type}\``, 'ERROR_REASON_UNKNOWN_DEFINITION');
    const m = this.member(r.resource.type, r.relation);
    if (!m) fail(`unknown relation \`${r.relation}\` on type \`${r.resource.type}\``, 'ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION');
    if (m!.kind !== 'relation') fail(`\`${r.resource.type}#${r.relation}\` is a permission; relationships can only be written to relations`, 'ERROR_REASON_CANNOT_UPDATE_PERMISSION');
    const rel = m as RelationIR;
    if (!this.#defs.has(r.subject.type)) fail(`unknown subject type \`${r.subject.type}\``, 'ERROR_REASON_UNKNOWN_DEFINITION');
    if (r.subject.relation !== ELLIPSIS && !this.member(r.subject.type, r.subject.relation)) {
      fail(`unknown relation \`${r.subject.relation}\` on subject type \`${r.subject.type}\``, 'ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION');
    }
    const wildcard = r.subject.id === WILDCARD_ID;
    const sameShape = rel.allowed.filter(
      (a) => a.type === r.subject.type && a.wildcard === wildcard && (wildcard || a.relation === r.subject.relation),
    );
    const kind = wildcard ? `${r.subject.type}:*` : r.subject.relation === ELLIPSIS ? r.subject.type : `${r.subject.type}#${r.subject.relation}`;
    const allowedList = rel.allowed.map(formatAllowed).join(' | ');
    if (!sameShape.length) fail(`subjects \`${kind}\` are not allowed by \`${r.resource.type}#${r.relation}: ${allowedList}\``);
    const caveat = r.caveat?.name ?? null;
    if (caveat !== null && !this.#caveats.has(caveat)) fail(`unknown caveat \`${caveat}\``, 'ERROR_REASON_UNKNOWN_CAVEAT');
    if (r.caveat?.context) this.#validateContext(r.caveat.name, r.caveat.context, field, shown);
    const fits = (a: AllowedSubjectIR): boolean => a.caveat === caveat && a.expiration === (r.expiresAt !== null);
    if (!sameShape.some(fits)) {
      const traits = [caveat !== null ? `caveat \`${caveat}\`` : 'no caveat', r.expiresAt ? 'an expiration' : 'no expiration'].join(' and ');
      fail(`\`${kind}\` with ${traits} is not allowed by \`${r.resource.type}#${r.relation}: ${allowedList}\``);
    }
  }
}

function push<V>(m: Map<string, V[]>, key: string, v: V): void {
  const list = m.get(key);
  const json = JSON.stringify(v);
  if (!list) m.set(key, [v]);
  else if (!list.some((x) => JSON.stringify(x) === json)) list.push(v);
}
