import { LRUCache } from 'lru-cache';
import { FALSE, type Condition } from '../condition.js';
import type { CheckAnswer, CheckProblem, Dispatcher, ExpandAnswer, ExpandProblem, SubjectsAnswer, SubjectsProblem } from './dispatcher.js';
import { objectKey } from './dispatcher.js';

/** A cached check answer: its condition (context-free; caveats are decided per request) and the depth it was computed with. */
interface Entry {
  readonly condition: Condition;
  readonly depthLeft: number;
}

/**
 * The check answers shared by every request of a process: an LRU bounded in bytes. Keys carry
 * the datastore, tenant, schema version and revision (see `Snapshot.cacheKey`), so an entry is
 * only ever the answer at that exact snapshot; minimize_latency reads share quantized revisions,
 * and so their entries.
 */
export class CheckCache {
  readonly #lru: LRUCache<string, Entry>;
  hits = 0;
  misses = 0;

  constructor(maxBytes: number) {
    this.#lru = new LRUCache<string, Entry>({ maxSize: maxBytes, sizeCalculation: (v, k) => 64 + k.length * 2 + conditionSize(v.condition) });
  }

  get(key: string): Entry | undefined {
    return this.#lru.get(key);
  }

  set(key: string, entry: Entry): void {
    const old = this.#lru.peek(key);
    // The answer computed with the least depth left is valid for more requests.
    if (!old || entry.depthLeft < old.depthLeft) this.#lru.set(key, entry);
  }

  /** Entries held now. */
  get size(): number {
    return this.#lru.size;
  }
}

/** A rough size in bytes of a condition (its JSON). */
function conditionSize(c: Condition): number {
  return c.op === 'true' || c.op === 'false' ? 8 : JSON.stringify(c).length * 2;
}

/**
 * CacheDispatcher answers check subproblems from the process-wide CheckCache and computes only
 * the misses. An answer is stored only when it is the same whatever the request's call chain:
 * computed without a cycle cut (or, for a single object, with cuts of itself only, which the
 * least fixed point settles). It is reused only by requests with at least as much depth left as
 * it was computed with, so a cached answer never hides a depth limit the request would hit.
 * Answers that read an expiring relationship are not stored. Expand and LookupSubjects pass
 * through.
 */
export class CacheDispatcher implements Dispatcher {
  readonly #inner: Dispatcher;
  readonly #cache: CheckCache;
  readonly #prefix: string;
  readonly #mayStore: () => boolean;

  /**
   * `prefix` names the snapshot (datastore, tenant, schema version, revision); `mayStore` says
   * whether answers computed now may be kept (not once the request has read a relationship that
   * expires).
   */
  constructor(inner: Dispatcher, cache: CheckCache, prefix: string, mayStore: () => boolean = () => true) {
    this.#inner = inner;
    this.#cache = cache;
    this.#prefix = prefix;
    this.#mayStore = mayStore;
  }

  #key(p: CheckProblem, id: string): string {
    const s = p.subject;
    return `${this.#prefix}|${objectKey(p.resourceType, id, p.relation)}@${s.type}:${s.id}#${s.relation}`;
  }

  async check(p: CheckProblem): Promise<CheckAnswer> {
    const results = new Map<string, Condition>();
    const misses: string[] = [];
    for (const id of p.resourceIds) {
      const hit = this.#cache.get(this.#key(p, id));
      if (hit && hit.depthLeft <= p.depthLeft) {
        this.#cache.hits++;
        results.set(id, hit.condition);
      } else {
        this.#cache.misses++;
        misses.push(id);
      }
    }
    if (!misses.length) return { results, cycles: null };
    const answer = await this.#inner.check({ ...p, resourceIds: misses });
    const own = misses.length === 1 ? objectKey(p.resourceType, misses[0]!, p.relation) : null;
    const settled = (!answer.cycles || (own !== null && [...answer.cycles].every((k) => k === own))) && this.#mayStore();
    for (const id of misses) {
      const condition = answer.results.get(id) ?? FALSE;
      results.set(id, condition);
      if (settled) this.#cache.set(this.#key(p, id), { condition, depthLeft: p.depthLeft });
    }
    return { results, cycles: answer.cycles };
  }

  lookupSubjects(p: SubjectsProblem): Promise<SubjectsAnswer> {
    return this.#inner.lookupSubjects(p);
  }

  expand(p: ExpandProblem): Promise<ExpandAnswer> {
    return this.#inner.expand(p);
  }
}
