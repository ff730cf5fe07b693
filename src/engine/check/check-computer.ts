import type { RelationIR, RewriteIR } from '../../../schema-dsl/index.js';
import { ELLIPSIS, WILDCARD_ID, type Relationship } from '../../model/relationship.js';
import { FALSE, TRUE, and, not, or, type Condition } from '../condition.js';
import { CycleTracker, checkProblem, type CheckAnswer, type CheckProblem } from '../dispatch/dispatcher.js';
import type { RelationshipFilter, SubjectMatch } from '../../store/store.js';
import type { SubjectRef } from '../../model/relationship.js';
import type { TypeSystem } from '../../schema/type-system.js';
import { tupleCondition, type Scope } from '../scope.js';

type Results = Map<string, Condition>;

/**
 * Computes one CheckProblem over a batch of resource ids: stored relations with one batched read
 * per subject shape, permissions by walking the rewrite tree. Every nested question goes back
 * through the dispatcher.
 */
export class CheckComputer {
  readonly #scope: Scope;
  readonly #p: CheckProblem;
  readonly #cycles = new CycleTracker();

  constructor(scope: Scope, p: CheckProblem) {
    this.#scope = scope;
    this.#p = p;
  }

  async compute(): Promise<CheckAnswer> {
    const p = this.#p;
    // Where a round trip costs more than a read, every relation of these objects the walk may
    // read is read now, in one round trip, instead of one by one as the walk reaches it.
    if (this.#scope.prefetch && p.resourceIds.length) this.#scope.prefetch(prefetchFilters(this.#scope.schema, p.resourceType, p.resourceIds, p.subject));
    const results: Results = new Map(p.resourceIds.map((id) => [id, FALSE]));
    const s = p.subject;
    // A userset contains itself: `group:eng#member` is a member of group:eng#member.
    const self = s.type === p.resourceType && s.relation === p.relation && results.has(s.id);
    if (self) results.set(s.id, TRUE);
    const ids = p.resourceIds.filter((id) => !(self && id === s.id));
    const m = this.#scope.schema.member(p.resourceType, p.relation);
    if (m && ids.length) {
      const r = m.kind === 'relation' ? await this.#relation(m, ids) : await this.#rewrite(m.rewrite, ids);
      for (const [id, c] of r) results.set(id, c);
    }
    return { results, cycles: this.#cycles.without([]) };
  }

  async #dispatch(resourceType: string, resourceIds: readonly string[], relation: string): Promise<ReadonlyMap<string, Condition>> {
    const p = this.#p;
    const a = await this.#scope.dispatcher.check(checkProblem(p.revision, p.depthLeft - 1, p.inProgress, resourceType, resourceIds, relation, p.subject));
    this.#cycles.add(a.cycles);
    return a.results;
  }

  /**
   * A stored relation: one read for the batch returns the subject itself (and the wildcard, where
   * allowed) and every subject set the relation allows; they are split here, and each kind of
   * subject set is asked on, for the ids not already granted, in one dispatch.
   */
  async #relation(rel: RelationIR, ids: readonly string[]): Promise<Results> {
    const p = this.#p;
    const s = p.subject;
    const results: Results = new Map(ids.map((id) => [id, FALSE]));
    const read = relationRead(rel, p.resourceType, ids, s);
    if (!read) return results;
    const { direct, usersets, subjectIds } = read;
    const tuples = await this.#scope.reader.query(read.filter);
    const bySet = new Map<string, Relationship[]>();
    for (const t of tuples) {
      const sub = t.subject;
      if (direct.length && sub.type === s.type && sub.relation === s.relation && subjectIds.includes(sub.id)) {
        results.set(t.resource.id, or(results.get(t.resource.id)!, tupleCondition(t)));
      } else if (sub.relation !== ELLIPSIS) {
        const k = `${sub.type}#${sub.relation}`;
        const list = bySet.get(k);
        if (list) list.push(t);
        else bySet.set(k, [t]);
      }
    }
    for (const [k, list] of bySet) {
      const u = usersets.get(k);
      if (!u) continue;
      const pending = list.filter((t) => results.get(t.resource.id)!.op !== 'true');
      if (!pending.length) continue;
      // A set that nests only itself (`group#member`) is answered from the subject's side: the
      // sets the subject belongs to, found once for the request, instead of a walk down each one.
      const setIds = unique(pending.map((t) => t.subject.id));
      const held = await this.#scope.memberships.of(u.type, u.relation, s, setIds, p.depthLeft - 1);
      const answers = held ? null : await this.#dispatch(u.type, setIds, u.relation);
      for (const t of pending) {
        const member = held ? (held.has(t.subject.id) ? TRUE : FALSE) : (answers!.get(t.subject.id) ?? FALSE);
        const c = and(tupleCondition(t), member);
        results.set(t.resource.id, or(results.get(t.resource.id)!, c));
      }
    }
    return results;
  }

  async #rewrite(e: RewriteIR, ids: readonly string[]): Promise<Results> {
    switch (e.kind) {
      case 'nil':
        return new Map(ids.map((id) => [id, FALSE]));
      case 'computed': {
        // A stored relation of the same object is read right here: dispatching it would add a
        // memo entry and a cache lookup to a question one read answers. (Unless the subject is
        // that very set, which holds itself: the dispatch's own rule.)
        const p = this.#p;
        const m = this.#scope.schema.member(p.resourceType, e.relation);
        if (m?.kind === 'relation' && !(p.subject.type === p.resourceType && p.subject.relation === e.relation)) return this.#relation(m, ids);
        return new Map(await this.#dispatch(p.resourceType, ids, e.relation));
      }
      case 'union':
        return this.#union(e.children, ids);
      case 'intersection':
        return this.#intersection(e.children, ids);
      case 'exclusion':
        return this.#exclusion(e.base, e.subtract, ids);
      case 'arrow':
        return this.#arrow(e.tupleset, e.computed, e.fn === 'all', ids);
      default: {
        const never: never = e;
        throw new Error(`unknown rewrite ${JSON.stringify(never)}`);
      }
    }
  }

  /** Union stops asking for an id once one branch says yes. */
  async #union(children: readonly RewriteIR[], ids: readonly string[]): Promise<Results> {
    const results: Results = new Map(ids.map((id) => [id, FALSE]));
    for (const child of children) {
      const pending = ids.filter((id) => results.get(id)!.op !== 'true');
      if (!pending.length) break;
      const r = await this.#rewrite(child, pending);
      for (const [id, c] of r) results.set(id, or(results.get(id)!, c));
    }
    return results;
  }

  /** Intersection stops asking for an id once one branch says no. */
  async #intersection(children: readonly RewriteIR[], ids: readonly string[]): Promise<Results> {
    const results: Results = new Map(ids.map((id) => [id, TRUE]));
    for (const child of children) {
      const pending = ids.filter((id) => results.get(id)!.op !== 'false');
      if (!pending.length) break;
      const r = await this.#rewrite(child, pending);
      for (const id of pending) results.set(id, and(results.get(id)!, r.get(id) ?? FALSE));
    }
    return results;
  }

  /** Exclusion asks the subtracted branch only for ids the base grants. */
  async #exclusion(base: RewriteIR, subtract: RewriteIR, ids: readonly string[]): Promise<Results> {
    const results = await this.#rewrite(base, ids);
    const pending = ids.filter((id) => results.get(id)!.op !== 'false');
    if (pending.length) {
      const r = await this.#rewrite(subtract, pending);
      for (const id of pending) results.set(id, and(results.get(id)!, not(r.get(id) ?? FALSE)));
    }
    return results;
  }

  /** `tupleset->computed` (any) or `tupleset.all(computed)`: one read for the batch, one dispatch per subject type. */
  async #arrow(tupleset: string, computed: string, all: boolean, ids: readonly string[]): Promise<Results> {
    const p = this.#p;
    const tuples = await this.#scope.reader.query({ resourceType: p.resourceType, resourceIds: ids, relation: tupleset });
    const byType = new Map<string, Relationship[]>();
    for (const t of tuples) {
      const list = byType.get(t.subject.type);
      if (list) list.push(t);
      else byType.set(t.subject.type, [t]);
    }
    const answers = new Map<string, ReadonlyMap<string, Condition>>();
    for (const [type, list] of byType) {
      if (!this.#scope.schema.member(type, computed)) continue;
      answers.set(type, await this.#dispatch(type, unique(list.map((t) => t.subject.id)), computed));
    }
    const answer = (t: Relationship): Condition => answers.get(t.subject.type)?.get(t.subject.id) ?? FALSE;
    const results: Results = new Map(ids.map((id) => [id, FALSE]));
    if (!all) {
      for (const t of tuples) results.set(t.resource.id, or(results.get(t.resource.id)!, and(tupleCondition(t), answer(t))));
      return results;
    }
    // `.all()`: there is a tupleset relationship, and each one contributes "its caveat holds AND its
    // subject has the permission". A relationship whose caveat is false makes the whole `.all()`
    // false; it is not dropped as if absent (expired ones are absent: the store never returns them).
    const every = new Map<string, Condition>();
    for (const t of tuples) every.set(t.resource.id, and(every.get(t.resource.id) ?? TRUE, and(tupleCondition(t), answer(t))));
    for (const [id, c] of every) results.set(id, c);
    return results;
  }
}

/** How a stored relation is read for a subject: the filter, and how to split what it returns. */
export interface RelationRead {
  readonly filter: RelationshipFilter;
  /** Allowed subject types the subject itself matches (plain or wildcard). */
  readonly direct: readonly { readonly type: string }[];
  /** Subject sets the relation allows, by `type#relation`. */
  readonly usersets: ReadonlyMap<string, { readonly type: string; readonly relation: string }>;
  /** The subject's id, and the wildcard where allowed. */
  readonly subjectIds: readonly string[];
}

/**
 * The one read of a stored relation for a subject, over a batch of resources: the subject itself
 * (and the wildcard, where allowed) and every subject set the relation allows. Null when the
 * relation can hold neither (nothing to read).
 */
export function relationRead(rel: RelationIR, resourceType: string, ids: readonly string[], s: SubjectRef): RelationRead | null {
  const direct = rel.allowed.filter((a) => a.type === s.type && (a.wildcard ? s.relation === ELLIPSIS : a.relation === s.relation));
  const usersets = new Map<string, { type: string; relation: string }>();
  for (const a of rel.allowed) if (!a.wildcard && a.relation !== ELLIPSIS) usersets.set(`${a.type}#${a.relation}`, a);
  if (!direct.length && !usersets.size) return null;
  const subjectIds = direct.some((a) => a.wildcard) ? [s.id, WILDCARD_ID] : [s.id];
  const matches: SubjectMatch[] = direct.length ? [{ type: s.type, ids: subjectIds, relation: s.relation }] : [];
  for (const u of usersets.values()) matches.push({ type: u.type, relation: u.relation });
  const only = matches.length === 1 ? matches[0]! : null;
  const filter: RelationshipFilter = only
    ? { resourceType, resourceIds: ids, relation: rel.name, subjectType: only.type, ...(only.ids ? { subjectIds: only.ids } : {}), subjectRelation: only.relation! }
    : { resourceType, resourceIds: ids, relation: rel.name, subjectsAnyOf: matches };
  return { filter, direct, usersets, subjectIds };
}

/** Per schema: each type's tuplesets (relations its arrows read whole). */
const TUPLESETS = new WeakMap<TypeSystem, Map<string, readonly string[]>>();

function tuplesetsOf(schema: TypeSystem, type: string): readonly string[] {
  let byType = TUPLESETS.get(schema);
  if (!byType) TUPLESETS.set(schema, (byType = new Map()));
  let found = byType.get(type);
  if (!found) {
    const names = new Set<string>();
    const visit = (e: RewriteIR): void => {
      if (e.kind === 'arrow') names.add(e.tupleset);
      else if (e.kind === 'union' || e.kind === 'intersection') e.children.forEach(visit);
      else if (e.kind === 'exclusion') (visit(e.base), visit(e.subtract));
    };
    for (const m of schema.definition(type)?.members ?? []) if (m.kind === 'permission') visit(m.rewrite);
    byType.set(type, (found = [...names]));
  }
  return found;
}

/**
 * Every read a check on these objects may make of their own relations: each stored relation as
 * `#relation` reads it for this subject, and each tupleset as `#arrow` reads it (whole).
 */
function prefetchFilters(schema: TypeSystem, type: string, ids: readonly string[], s: SubjectRef): RelationshipFilter[] {
  const out: RelationshipFilter[] = [];
  for (const m of schema.definition(type)?.members ?? []) {
    if (m.kind !== 'relation') continue;
    const read = relationRead(m, type, ids, s);
    if (read) out.push(read.filter);
  }
  for (const tupleset of tuplesetsOf(schema, type)) out.push({ resourceType: type, resourceIds: ids, relation: tupleset });
  return out;
}

function unique(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}
