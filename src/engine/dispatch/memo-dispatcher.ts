import { WardenError } from '../../errors/error-code.js';
import { FALSE, type Condition } from '../condition.js';
import type { ExpandNode } from '../expand/expand-node.js';
import { SubjectSet } from '../subject-set.js';
import { each, then, type Maybe } from '../maybe.js';
import { inner } from '../../model/nested-map.js';
import {
  CycleTracker,
  checkProblem,
  objectKey,
  type CheckAnswer,
  type CheckProblem,
  type Dispatcher,
  type ExpandAnswer,
  type ExpandProblem,
  type SubjectsAnswer,
  type SubjectsProblem,
} from './dispatcher.js';

/**
 * MemoDispatcher makes each subproblem of a request computed once, however many paths reach it,
 * enforces the depth limit, and cuts cycles: a subproblem already in progress on the call chain
 * answers FALSE (the least fixed point), and whatever depended on that cut is not memoized until
 * the cut subproblem itself completes. One instance serves one request.
 */
export class MemoDispatcher implements Dispatcher {
  readonly #inner: Dispatcher;
  /** Check answers by resource type, relation and id. */
  readonly #checks = new Map<string, Map<string, Map<string, Condition>>>();
  readonly #subjects = new Map<string, SubjectSet>();
  readonly #expands = new Map<string, ExpandNode>();

  constructor(inner: Dispatcher) {
    this.#inner = inner;
  }

  check(p: CheckProblem): Maybe<CheckAnswer> {
    if (p.resourceIds.length === 1) return this.#checkOne(p, p.resourceIds[0]!);
    const results = new Map<string, Condition>();
    const cycles = new CycleTracker();
    const todo: string[] = [];
    const memo = this.#memoOf(p.resourceType, p.relation);
    for (const id of new Set(p.resourceIds)) {
      const known = memo.get(id);
      if (known) results.set(id, known);
      else if (p.inProgress.hasObject(p.resourceType, id, p.relation)) {
        results.set(id, FALSE);
        cycles.cut(objectKey(p.resourceType, id, p.relation));
      } else todo.push(id);
    }
    if (!todo.length) return { results, cycles: cycles.without([]) };
    depthGuard(p.depthLeft, p.resourceType, p.relation);
    const keys = todo.map((id) => objectKey(p.resourceType, id, p.relation));
    const own = new Set(keys);
    const first = this.#inner.check(checkProblem(p.revision, p.depthLeft, p.inProgress.with(own), p.resourceType, todo, p.relation, p.subject));
    // Siblings of one batch that depended on each other are computed one at a time, each seeing the others' final answers.
    const settled = then(first, (a) => (todo.length > 1 && a.cycles && keys.some((k) => a.cycles!.has(k)) ? this.#oneByOne(p, todo) : a));
    return then(settled, (answer) => {
      cycles.add(answer.cycles);
      const remaining = cycles.without(own);
      for (const id of todo) {
        const c = answer.results.get(id) ?? FALSE;
        results.set(id, c);
        if (!remaining) memo.set(id, c);
      }
      return { results, cycles: remaining };
    });
  }

  /**
   * The same for one id, the common case, without the batch's sets and trackers, and without a
   * key string: the memo is looked up by type, relation and id (strings the walk already holds).
   */
  #checkOne(p: CheckProblem, id: string): Maybe<CheckAnswer> {
    const memo = this.#memoOf(p.resourceType, p.relation);
    const known = memo.get(id);
    if (known) return { results: one(id, known), cycles: null };
    if (p.inProgress.hasObject(p.resourceType, id, p.relation)) return { results: one(id, FALSE), cycles: new Set([objectKey(p.resourceType, id, p.relation)]) };
    depthGuard(p.depthLeft, p.resourceType, p.relation);
    const answer = this.#inner.check(checkProblem(p.revision, p.depthLeft, p.inProgress.withObject(p.resourceType, id, p.relation), p.resourceType, p.resourceIds, p.relation, p.subject));
    return answer instanceof Promise ? answer.then((a) => this.#settleOne(p, a, memo, id)) : this.#settleOne(p, answer, memo, id);
  }

  #settleOne(p: CheckProblem, answer: CheckAnswer, memo: Map<string, Condition>, id: string): CheckAnswer {
    const c = answer.results.get(id) ?? FALSE;
    let remaining = answer.cycles;
    if (remaining) {
      const key = objectKey(p.resourceType, id, p.relation);
      if (remaining.has(key)) {
        const rest = new Set(remaining);
        rest.delete(key);
        remaining = rest.size ? rest : null;
      }
    }
    if (!remaining) memo.set(id, c);
    return { results: answer.results.size === 1 ? answer.results : one(id, c), cycles: remaining };
  }

  /** The memo of one type's relation: answers by object id. */
  #memoOf(type: string, relation: string): Map<string, Condition> {
    return inner(inner(this.#checks, type), relation);
  }

  #oneByOne(p: CheckProblem, ids: readonly string[]): Maybe<CheckAnswer> {
    const results = new Map<string, Condition>();
    const cycles = new CycleTracker();
    const done = each(ids, (id) =>
      then(this.check(checkProblem(p.revision, p.depthLeft, p.inProgress, p.resourceType, [id], p.relation, p.subject)), (a) => {
        results.set(id, a.results.get(id) ?? FALSE);
        cycles.add(a.cycles);
      }),
    );
    return then(done, () => ({ results, cycles: cycles.without([]) }));
  }

  async lookupSubjects(p: SubjectsProblem): Promise<SubjectsAnswer> {
    const key = `${objectKey(p.resource.type, p.resource.id, p.relation)}>${p.subjectType}#${p.subjectRelation}`;
    const known = this.#subjects.get(key);
    if (known) return { subjects: known, cycles: null };
    if (p.inProgress.has(key)) return { subjects: SubjectSet.EMPTY, cycles: new Set([key]) };
    depthGuard(p.depthLeft, p.resource.type, p.relation);
    const a = await this.#inner.lookupSubjects({ ...p, inProgress: p.inProgress.with(key) });
    const t = new CycleTracker();
    t.add(a.cycles);
    const remaining = t.without([key]);
    if (!remaining) this.#subjects.set(key, a.subjects);
    return { subjects: a.subjects, cycles: remaining };
  }

  async expand(p: ExpandProblem): Promise<ExpandAnswer> {
    const key = `expand:${objectKey(p.resource.type, p.resource.id, p.relation)}`;
    const known = this.#expands.get(key);
    if (known) return { tree: known, cycles: null };
    if (p.inProgress.has(key)) {
      const tree: ExpandNode = { kind: 'leaf', resource: p.resource, relation: p.relation, condition: { op: 'true' }, subjects: [], cycle: true };
      return { tree, cycles: new Set([key]) };
    }
    depthGuard(p.depthLeft, p.resource.type, p.relation);
    const a = await this.#inner.expand({ ...p, inProgress: p.inProgress.with(key) });
    const t = new CycleTracker();
    t.add(a.cycles);
    const remaining = t.without([key]);
    if (!remaining) this.#expands.set(key, a.tree);
    return { tree: a.tree, cycles: remaining };
  }
}

/** One id's answer (built by `set`: a Map from a list of pairs goes through the iteration protocol). */
function one(id: string, c: Condition): Map<string, Condition> {
  return new Map<string, Condition>().set(id, c);
}

/** Fails the request when no depth is left (the message is built only then: this runs on every dispatch). */
function depthGuard(depthLeft: number, type: string, relation: string): void {
  if (depthLeft <= 0) {
    throw new WardenError(
      'RESOURCE_EXHAUSTED',
      `the maximum depth was exceeded at \`${type}#${relation}\`: the permission graph is nested deeper than the configured limit (max_depth)`,
      { field: 'max_depth', reason: 'ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED' },
    );
  }
}
