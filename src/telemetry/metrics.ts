import type { Attributes, Counter, Histogram, Meter, ObservableResult, UpDownCounter } from '@opentelemetry/api';
import type { Decision } from '../engine/condition.js';
import type { RequestStats } from '../engine/scope.js';

/** Latency buckets in milliseconds: 50 µs to 30 s. */
const MS_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000];

/** Work buckets (dispatches, reads per check). */
const COUNT_BUCKETS = [0, 1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

const HAS = Object.freeze({ result: 'has_permission' });
const NO = Object.freeze({ result: 'no_permission' });
const CONDITIONAL = Object.freeze({ result: 'conditional' });

/** What the observable metrics read, registered once the server's parts exist. */
export interface MetricSources {
  /** The check cache's counters per tier (the engine's `cacheStats`). */
  readonly cache?: () => { entries: number; shared: number; tiers: Readonly<Record<string, { hits: number; misses: number; [k: string]: number }>> } | null;
  /** Connections of the datastore's pools. */
  readonly pools?: () => readonly { pool: string; total: number; idle: number; waiting: number }[];
  /** Calls running and waiting under admission control. */
  readonly admission?: () => { inFlight: number; queued: number };
  /** The Redis tier's breaker: closed (in use), open or half-open. */
  readonly redis?: () => string;
}

/**
 * Warden's instruments. Names follow OpenTelemetry's conventions (`rpc.server.duration` for
 * RPCs); the Prometheus exporter turns them into `rpc_server_duration_milliseconds`,
 * `warden_checks_total` and so on (the README lists them).
 */
export class WardenMetrics {
  /** False when no reader collects them (every record is a no-op). */
  readonly enabled: boolean;
  readonly rpcDuration: Histogram;
  readonly checks: Counter;
  readonly checkDispatches: Histogram;
  readonly checkReads: Histogram;
  readonly storeReadDuration: Histogram;
  readonly writes: Counter;
  readonly watchStreams: UpDownCounter;
  readonly gcRuns: Counter;
  readonly gcRemoved: Counter;
  readonly #meter: Meter;

  constructor(meter: Meter, enabled: boolean) {
    this.#meter = meter;
    this.enabled = enabled;
    const ms = { unit: 'ms', advice: { explicitBucketBoundaries: MS_BUCKETS } };
    this.rpcDuration = meter.createHistogram('rpc.server.duration', { description: 'Time to answer a gRPC call, by method and status code', ...ms });
    this.checks = meter.createCounter('warden.checks', { description: 'Checks answered, by result (has_permission, no_permission, conditional); BatchCheck items included' });
    this.checkDispatches = meter.createHistogram('warden.check.dispatches', { description: 'Subproblems dispatched to answer one check (0 when answered from the cache; BatchCheck items not included)', advice: { explicitBucketBoundaries: COUNT_BUCKETS } });
    this.checkReads = meter.createHistogram('warden.check.store_reads', { description: 'Store reads made to answer one check', advice: { explicitBucketBoundaries: COUNT_BUCKETS } });
    this.storeReadDuration = meter.createHistogram('warden.store.read.duration', { description: 'Time of one snapshot read of the store', ...ms });
    this.writes = meter.createCounter('warden.writes', { description: 'Writes committed (Write, Delete, Import, WriteSchema and their SpiceDB forms), by method' });
    this.watchStreams = meter.createUpDownCounter('warden.watch.streams', { description: 'Watch streams open' });
    this.gcRuns = meter.createCounter('warden.gc.runs', { description: 'Garbage collection runs, by outcome (ok, failed)' });
    this.gcRemoved = meter.createCounter('warden.gc.removed', { description: 'Relationship versions removed by garbage collection' });
  }

  /** Counts one check answered and the work it took. */
  checked(decision: Decision, work: Readonly<RequestStats> | null): void {
    if (!this.enabled) return;
    this.checks.add(1, decision.kind === 'has' ? HAS : decision.kind === 'no' ? NO : CONDITIONAL);
    if (!work) return;
    this.checkDispatches.record(work.dispatches);
    this.checkReads.record(work.reads);
  }

  /** Registers the gauges and counters read off the server's parts at each collection. */
  observe(sources: MetricSources): void {
    if (!this.enabled) return;
    const m = this.#meter;
    if (sources.cache) {
      const cache = sources.cache;
      const lookups = m.createObservableCounter('warden.cache.lookups', { description: 'Check cache lookups, by tier (lru, redis) and result (hit, miss)' });
      lookups.addCallback((r: ObservableResult) => {
        for (const [tier, s] of Object.entries(cache()?.tiers ?? {})) {
          r.observe(s.hits, { tier, result: 'hit' });
          r.observe(s.misses, { tier, result: 'miss' });
        }
      });
      m.createObservableGauge('warden.cache.entries', { description: 'Entries in the in-process check cache' }).addCallback((r) => r.observe(cache()?.entries ?? 0));
      m.createObservableCounter('warden.cache.singleflight.shared', { description: 'Checks that joined an identical check in flight instead of computing it' }).addCallback((r) => r.observe(cache()?.shared ?? 0));
    }
    if (sources.pools) {
      const pools = sources.pools;
      m.createObservableGauge('warden.store.pool.connections', { description: 'Datastore pool connections, by pool (primary, replica) and state (total, idle, waiting: requests queued for one)' }).addCallback((r) => {
        for (const p of pools()) {
          const a: Attributes = { pool: p.pool };
          r.observe(p.total, { ...a, state: 'total' });
          r.observe(p.idle, { ...a, state: 'idle' });
          r.observe(p.waiting, { ...a, state: 'waiting' });
        }
      });
    }
    if (sources.admission) {
      const admission = sources.admission;
      m.createObservableGauge('warden.admission.calls', { description: 'Calls under admission control, by state (running, queued)' }).addCallback((r) => {
        const { inFlight, queued } = admission();
        r.observe(inFlight, { state: 'running' });
        r.observe(queued, { state: 'queued' });
      });
    }
    if (sources.redis) {
      const redis = sources.redis;
      m.createObservableGauge('warden.cache.redis.available', { description: '1 while the Redis check cache is in use, 0 while its breaker keeps it out' }).addCallback((r) => r.observe(redis() === 'closed' ? 1 : 0));
    }
  }
}
