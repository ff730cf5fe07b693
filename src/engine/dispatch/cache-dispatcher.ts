import type { CheckCacheTier, CheckEntry } from '../../cache/check-cache.js';
import { FALSE, type Condition } from '../condition.js';
import type { CheckAnswer, CheckProblem, Dispatcher, ExpandAnswer, ExpandProblem, SubjectsAnswer, SubjectsProblem } from './dispatcher.js';
import { checkProblem, objectKey } from './dispatcher.js';
import type { SubjectRef } from '../../model/relationship.js';
import { then, type Maybe } from '../maybe.js';

/** The check cache's key for one object's relation and a subject, at the snapshot `prefix` names. */
export function checkCacheKey(prefix: string, type: string, id: string, relation: string, s: SubjectRef): string {
  return `${prefix}|${objectKey(type, id, relation)}@${s.type}:${s.id}#${s.relation}`;
}

/**
 * CacheDispatcher answers check subproblems from one tier of the shared check cache (the
 * in-process LRU, or Redis) and passes only the misses on; tiers stack as decorators. An answer is
 * stored only when it is the same whatever the request's call chain: computed without a cycle cut
 * (or, for a single object, with cuts of itself only, which the least fixed point settles). It is
 * reused only by requests with at least as much depth left as it was computed with, so a cached
 * answer never hides a depth limit the request would hit. Answers that read an expiring
 * relationship are not stored. Expand and LookupSubjects pass through.
 */
export class CacheDispatcher implements Dispatcher {
  readonly #inner: Dispatcher;
  readonly #tier: CheckCacheTier;
  readonly #prefix: string;
  readonly #mayStore: () => boolean;
  readonly #onHits: (n: number) => void;

  /**
   * `prefix` names the snapshot (datastore, tenant, schema version, revision); `mayStore` says
   * whether answers computed now may be kept (not once the request has read a relationship that
   * expires); `onHits` hears how many subproblems the tier answered, for the request's counters.
   */
  constructor(inner: Dispatcher, tier: CheckCacheTier, prefix: string, mayStore: () => boolean = () => true, onHits: (n: number) => void = () => {}) {
    this.#inner = inner;
    this.#onHits = onHits;
    this.#tier = tier;
    this.#prefix = prefix;
    this.#mayStore = mayStore;
  }

  #key(p: CheckProblem, id: string): string {
    return checkCacheKey(this.#prefix, p.resourceType, id, p.relation, p.subject);
  }

  check(p: CheckProblem): Maybe<CheckAnswer> {
    const keys = p.resourceIds.map((id) => this.#key(p, id));
    const got = this.#tier.getMany(keys);
    // The in-process tier answers at once: no promise in between for a hit.
    return Array.isArray(got) ? this.#answer(p, keys, got as readonly (CheckEntry | undefined)[]) : (got as Promise<readonly (CheckEntry | undefined)[]>).then((g) => this.#answer(p, keys, g));
  }

  #answer(p: CheckProblem, keys: readonly string[], got: readonly (CheckEntry | undefined)[]): Maybe<CheckAnswer> {
    const results = new Map<string, Condition>();
    const misses: string[] = [];
    const missKeys: string[] = [];
    const stats = this.#tier.stats;
    p.resourceIds.forEach((id, i) => {
      const hit = got[i];
      if (hit && hit.depthLeft <= p.depthLeft) {
        stats.hits++;
        results.set(id, hit.condition);
      } else {
        stats.misses++;
        misses.push(id);
        missKeys.push(keys[i]!);
      }
    });
    if (results.size) this.#onHits(results.size);
    if (!misses.length) return { results, cycles: null };
    return then(this.#inner.check(checkProblem(p.revision, p.depthLeft, p.inProgress, p.resourceType, misses, p.relation, p.subject)), (answer) => this.#store(p, misses, missKeys, answer, results));
  }

  /** Takes the computed answers into `results`, and keeps those that may be kept. */
  #store(p: CheckProblem, misses: readonly string[], missKeys: readonly string[], answer: CheckAnswer, results: Map<string, Condition>): CheckAnswer {
    const own = misses.length === 1 ? objectKey(p.resourceType, misses[0]!, p.relation) : null;
    const settled = (!answer.cycles || (own !== null && [...answer.cycles].every((k) => k === own))) && this.#mayStore();
    const store: (readonly [string, CheckEntry])[] = [];
    misses.forEach((id, i) => {
      const condition = answer.results.get(id) ?? FALSE;
      results.set(id, condition);
      if (settled) store.push([missKeys[i]!, { condition, depthLeft: p.depthLeft }]);
    });
    this.#tier.setMany(store);
    return { results, cycles: answer.cycles };
  }

  lookupSubjects(p: SubjectsProblem): Promise<SubjectsAnswer> {
    return this.#inner.lookupSubjects(p);
  }

  expand(p: ExpandProblem): Promise<ExpandAnswer> {
    return this.#inner.expand(p);
  }
}
