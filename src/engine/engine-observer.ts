import type { CheckCacheTier } from '../cache/check-cache.js';
import type { SnapshotReader } from '../store/store.js';
import type { Decision } from './condition.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { RequestStats } from './scope.js';

/**
 * What the engine lets telemetry see (implemented in `telemetry/`): decorators for a request's
 * dispatcher chain, its store reader and its cache tiers, and a report of every check answered.
 * The engine asks `tracing()` once per request and wraps nothing when it says no, so a request
 * that is not traced pays nothing for the seam but that question.
 */
export interface EngineObserver {
  /** True when the calling request is traced: its chain is wrapped in the decorators below. */
  tracing(): boolean;
  /** Wraps the computing dispatcher: one span per dispatch, with its depth. */
  dispatcher(inner: Dispatcher): Dispatcher;
  /** Wraps a cache tier: one span per lookup. */
  tier(inner: CheckCacheTier): CheckCacheTier;
  /**
   * Wraps the store's snapshot reader (below the request's read memo, so only real store reads
   * are seen): spans when traced, latency metrics always; `traced` says which.
   */
  reader(inner: SnapshotReader, traced: boolean): SnapshotReader;
  /** True when store reads are measured even in requests not traced. */
  readonly measuresReads: boolean;
  /** One check answered (from the cache or computed), with the work it took (null: a BatchCheck item, whose work its group shares). */
  checked(decision: Decision, work: Readonly<RequestStats> | null): void;
}
