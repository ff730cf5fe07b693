import type { RelationIR, RewriteIR } from '../../../schema-dsl/index.js';
import { ELLIPSIS, WILDCARD_ID, type Relationship } from '../../model/relationship.js';
import { FALSE, TRUE, and, not, or, type Condition } from '../condition.js';
import { CycleTracker, checkProblem, type CheckAnswer, type CheckProblem } from '../dispatch/dispatcher.js';
import type { RelationshipFilter, SubjectMatch } from '../../store/store.js';
import type { SubjectRef } from '../../model/relationship.js';
import type { TypeSystem } from '../../schema/type-system.js';
import { tupleCondition, type Scope } from '../scope.js';
import { each, then, type Maybe } from '../maybe.js';
import { inner } from '../../model/nested-map.js';

/** Answers by resource id; every computation's covers every id it was asked (FALSE by default). Never changed once returned. */
type Results = ReadonlyMap<string, Condition>;

/**
 * Computes one CheckProblem over a batch of resource ids: stored relations with one batched read
 * per subject shape, permissions by walking the rewrite tree. Every nested question goes back
 * through the dispatcher.
 */
export class CheckComputer {
  readonly #scope: Scope;
  readonly #p: CheckProblem;
  /** Cycle cuts the sub-answers used (made on the first one). */
  #cycles: CycleTracker | null = null;

  constructor(scope: Scope, p: CheckProblem) {
    this.#scope = scope;
    this.#p = p;
  }

  compute(): Maybe<CheckAnswer> {
    const p = this.#p;
    // Where a round trip costs more than a read, every relation of these objects the walk may
    // read is read now, in one round trip, instead of one by one as the walk reaches it.
    if (this.#scope.prefetch && p.resourceIds.length) this.#scope.prefetch(prefetchFilters(this.#scope.schema, p.resourceType, p.resourceIds, p.subject));
    const s = p.subject;
    // A userset contains itself: `group:eng#member` is a member of group:eng#member.
    const self = s.type === p.resourceType && s.relation === p.relation && p.resourceIds.includes(s.id);
    const ids = self ? p.resourceIds.filter((id) => id !== s.id) : p.resourceIds;
    const m = this.#scope.schema.member(p.resourceType, p.relation);
    const r = !m || !ids.length ? falseFor(ids) : m.kind === 'relation' ? this.#relation(m, ids) : this.#rewrite(m.rewrite, ids);
    return then(r, (r) => {
      if (!self) return { results: r, cycles: this.#cycles?.without() ?? null };
      const results = new Map(r);
      results.set(s.id, TRUE);
      return { results, cycles: this.#cycles?.without() ?? null };
    });
  }

  #dispatch(resourceType: string, resourceIds: readonly string[], relation: string): Maybe<ReadonlyMap<string, Condition>> {
    const p = this.#p;
    const a = this.#scope.dispatcher.check(checkProblem(p.revision, p.depthLeft - 1, p.inProgress, resourceType, resourceIds, relation, p.subject));
    return a instanceof Promise ? a.then((a) => this.#took(a)) : this.#took(a);
  }

  #took(a: CheckAnswer): ReadonlyMap<string, Condition> {
    if (a.cycles) (this.#cycles ??= new CycleTracker()).add(a.cycles);
    return a.results;
  }

  /**
   * A stored relation: one read for the batch returns the subject itself (and the wildcard, where
   * allowed) and every subject set the relation allows; they are split here, and each kind of
   * subject set is asked on, for the ids not already granted, in one dispatch.
   */
  #relation(rel: RelationIR, ids: readonly string[]): Maybe<Results> {
    const read = relationRead(rel, this.#p.resourceType, ids, this.#p.subject);
    if (!read) return falseFor(ids);
    const tuples = this.#scope.reader.read(read.filter);
    return tuples instanceof Promise ? tuples.then((t) => this.#relationRows(read, ids, t)) : this.#relationRows(read, ids, tuples);
  }

  #relationRows(read: RelationRead, ids: readonly string[], tuples: readonly Relationship[]): Maybe<Results> {
    const p = this.#p;
    const s = p.subject;
    const results = falseFor(ids);
    const { direct, sets, subjectIds } = read;
    // Subject-set relationships, by the index of their kind in `sets` (made on the first one).
    let bySet: Relationship[][] | null = null;
    for (const t of tuples) {
      const sub = t.subject;
      if (direct.length && sub.type === s.type && sub.relation === s.relation && subjectIds.includes(sub.id)) {
        results.set(t.resource.id, or(results.get(t.resource.id)!, tupleCondition(t)));
      } else if (sub.relation !== ELLIPSIS) {
        const i = sets.findIndex((u) => u.type === sub.type && u.relation === sub.relation);
        if (i >= 0) (bySet ??= sets.map(() => []))[i]!.push(t);
      }
    }
    if (!bySet) return results;
    const found = bySet;
    const done = each(sets, (u, i) => {
      const pending = found[i]!.filter((t) => results.get(t.resource.id)!.op !== 'true');
      if (!pending.length) return;
      // A set that nests only itself (`group#member`) is answered from the subject's side: the
      // sets the subject belongs to, found once for the request, instead of a walk down each one.
      const setIds = unique(pending.map((t) => t.subject.id));
      return then(this.#scope.memberships.of(u.type, u.relation!, s, setIds, p.depthLeft - 1), (held) => {
        if (held) {
          for (const t of pending) results.set(t.resource.id, or(results.get(t.resource.id)!, and(tupleCondition(t), held.has(t.subject.id) ? TRUE : FALSE)));
          return;
        }
        return then(this.#dispatch(u.type, setIds, u.relation!), (answers) => {
          for (const t of pending) results.set(t.resource.id, or(results.get(t.resource.id)!, and(tupleCondition(t), answers.get(t.subject.id) ?? FALSE)));
        });
      });
    });
    return then(done, () => results);
  }

  #rewrite(e: RewriteIR, ids: readonly string[]): Maybe<Results> {
    switch (e.kind) {
      case 'nil':
        return falseFor(ids);
      case 'computed': {
        // A stored relation of the same object is read right here: dispatching it would add a
        // memo entry and a cache lookup to a question one read answers. (Unless the subject is
        // that very set, which holds itself: the dispatch's own rule.)
        const p = this.#p;
        const m = this.#scope.schema.member(p.resourceType, e.relation);
        if (m?.kind === 'relation' && !(p.subject.type === p.resourceType && p.subject.relation === e.relation)) return this.#relation(m, ids);
        return this.#dispatch(p.resourceType, ids, e.relation);
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
  #union(children: readonly RewriteIR[], ids: readonly string[]): Maybe<Results> {
    const results = falseFor(ids);
    // The ids no branch has granted yet (recomputed only when a branch grants one).
    let pending = ids;
    const done = each(children, (child) => {
      if (!pending.length) return false;
      return then(this.#rewrite(child, pending), (r) => {
        let granted = false;
        for (const id of pending) {
          const c = r.get(id);
          if (!c || c.op === 'false') continue;
          const merged = or(results.get(id)!, c);
          results.set(id, merged);
          granted ||= merged.op === 'true';
        }
        if (granted) pending = pending.filter((id) => results.get(id)!.op !== 'true');
      });
    });
    return then(done, () => results);
  }

  /** Intersection stops asking for an id once one branch says no. */
  #intersection(children: readonly RewriteIR[], ids: readonly string[]): Maybe<Results> {
    const results = new Map<string, Condition>(ids.map((id) => [id, TRUE]));
    const done = each(children, (child) => {
      const pending = ids.filter((id) => results.get(id)!.op !== 'false');
      if (!pending.length) return false;
      return then(this.#rewrite(child, pending), (r) => {
        for (const id of pending) results.set(id, and(results.get(id)!, r.get(id) ?? FALSE));
      });
    });
    return then(done, () => results);
  }

  /** Exclusion asks the subtracted branch only for ids the base grants. */
  #exclusion(base: RewriteIR, subtract: RewriteIR, ids: readonly string[]): Maybe<Results> {
    return then(this.#rewrite(base, ids), (granted) => {
      const pending = ids.filter((id) => granted.get(id)!.op !== 'false');
      if (!pending.length) return granted;
      return then(this.#rewrite(subtract, pending), (r) => {
        const results = new Map(granted);
        for (const id of pending) results.set(id, and(granted.get(id)!, not(r.get(id) ?? FALSE)));
        return results;
      });
    });
  }

  /** `tupleset->computed` (any) or `tupleset.all(computed)`: one read for the batch, one dispatch per subject type. */
  #arrow(tupleset: string, computed: string, all: boolean, ids: readonly string[]): Maybe<Results> {
    const p = this.#p;
    const tuples = this.#scope.reader.read({ resourceType: p.resourceType, resourceIds: ids, relation: tupleset });
    return tuples instanceof Promise ? tuples.then((t) => this.#arrowRows(computed, all, ids, t)) : this.#arrowRows(computed, all, ids, tuples);
  }

  #arrowRows(computed: string, all: boolean, ids: readonly string[], tuples: readonly Relationship[]): Maybe<Results> {
    // The relationships by subject type (nearly always one): types, and each one's relationships.
    const types: string[] = [];
    const lists: Relationship[][] = [];
    for (const t of tuples) {
      const i = types.indexOf(t.subject.type);
      if (i >= 0) lists[i]!.push(t);
      else (types.push(t.subject.type), lists.push([t]));
    }
    const answers: (ReadonlyMap<string, Condition> | undefined)[] = [];
    const done = each(types, (type, i) => {
      if (!this.#scope.schema.member(type, computed)) return;
      return then(this.#dispatch(type, unique(lists[i]!.map((t) => t.subject.id)), computed), (a) => void (answers[i] = a));
    });
    return then(done, () => {
      const answer = (t: Relationship): Condition => answers[types.indexOf(t.subject.type)]?.get(t.subject.id) ?? FALSE;
      const results = falseFor(ids);
      if (!all) {
        for (const t of tuples) results.set(t.resource.id, or(results.get(t.resource.id)!, and(tupleCondition(t), answer(t))));
        return results;
      }
      // `.all()`: there is a tupleset relationship, and each one contributes "its caveat holds AND its
      // subject has the permission". A relationship whose caveat is false makes the whole `.all()`
      // false; it is not dropped as if absent (expired ones are absent: the store never returns them).
      const every = new Map<string, Condition>();
      for (const t of tuples) every.set(t.resource.id, and(every.get(t.resource.id) ?? TRUE, and(tupleCondition(t), answer(t))));
      every.forEach((c, id) => results.set(id, c));
      return results;
    });
  }
}

/** Every id mapped to FALSE: where a computation's answers start. */
function falseFor(ids: readonly string[]): Map<string, Condition> {
  const m = new Map<string, Condition>();
  for (const id of ids) m.set(id, FALSE);
  return m;
}

/** How a stored relation is read for a subject: the filter, and how to split what it returns. */
export interface RelationRead {
  readonly filter: RelationshipFilter;
  /** Allowed subject types the subject itself matches (plain or wildcard). */
  readonly direct: readonly { readonly type: string }[];
  /** Subject sets the relation allows, by `type#relation`. */
  readonly usersets: ReadonlyMap<string, { readonly type: string; readonly relation: string }>;
  /** The same subject sets, as a list. */
  readonly sets: readonly SubjectMatch[];
  /** The subject's id, and the wildcard where allowed. */
  readonly subjectIds: readonly string[];
}

/** What `relationRead` works out once per relation and kind of subject: all but the ids. */
interface ReadShape {
  readonly direct: readonly { readonly type: string }[];
  readonly usersets: ReadonlyMap<string, { readonly type: string; readonly relation: string }>;
  readonly wildcard: boolean;
  /** The subject sets as filter matches (the subject's own match goes first, when direct). */
  readonly setMatches: readonly SubjectMatch[];
}

/** Read shapes per relation (IR objects live as long as their schema), by subject type and relation. */
const SHAPES = new WeakMap<RelationIR, Map<string, Map<string, ReadShape | null>>>();

function readShape(rel: RelationIR, s: SubjectRef): ReadShape | null {
  const byRelation = inner(inner(SHAPES, rel), s.type);
  let shape = byRelation.get(s.relation);
  if (shape === undefined) {
    const direct = rel.allowed.filter((a) => a.type === s.type && (a.wildcard ? s.relation === ELLIPSIS : a.relation === s.relation));
    const usersets = new Map<string, { type: string; relation: string }>();
    for (const a of rel.allowed) if (!a.wildcard && a.relation !== ELLIPSIS) usersets.set(`${a.type}#${a.relation}`, a);
    shape = !direct.length && !usersets.size ? null : { direct, usersets, wildcard: direct.some((a) => a.wildcard), setMatches: [...usersets.values()].map((u) => ({ type: u.type, relation: u.relation })) };
    byRelation.set(s.relation, shape);
  }
  return shape;
}

/**
 * The one read of a stored relation for a subject, over a batch of resources: the subject itself
 * (and the wildcard, where allowed) and every subject set the relation allows. Null when the
 * relation can hold neither (nothing to read).
 */
export function relationRead(rel: RelationIR, resourceType: string, ids: readonly string[], s: SubjectRef): RelationRead | null {
  const shape = readShape(rel, s);
  if (!shape) return null;
  const { direct, usersets, setMatches } = shape;
  const subjectIds = shape.wildcard ? [s.id, WILDCARD_ID] : [s.id];
  let filter: RelationshipFilter;
  if (direct.length && !setMatches.length) filter = { resourceType, resourceIds: ids, relation: rel.name, subjectType: s.type, subjectIds, subjectRelation: s.relation };
  else if (!direct.length && setMatches.length === 1) filter = { resourceType, resourceIds: ids, relation: rel.name, subjectType: setMatches[0]!.type, subjectRelation: setMatches[0]!.relation! };
  else filter = { resourceType, resourceIds: ids, relation: rel.name, subjectsAnyOf: direct.length ? [{ type: s.type, ids: subjectIds, relation: s.relation }, ...setMatches] : setMatches };
  return { filter, direct, usersets, sets: setMatches, subjectIds };
}

/** Per schema: each type's tuplesets (relations its arrows read whole). */
const TUPLESETS = new WeakMap<TypeSystem, Map<string, readonly string[]>>();

function tuplesetsOf(schema: TypeSystem, type: string): readonly string[] {
  const byType = inner(TUPLESETS, schema);
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

function unique(ids: readonly string[]): readonly string[] {
  return ids.length < 2 ? ids : [...new Set(ids)];
}
