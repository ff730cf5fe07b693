import { Redis } from 'ioredis';
import { CircuitBreaker, type BreakerState } from './circuit-breaker.js';
import { decodeEntry, encodeEntry, type CheckCacheTier, type CheckEntry, type TierStats } from './check-cache.js';

/** Settings of the shared Redis tier. */
export interface RedisCacheOptions {
  /** How long an entry lives (default 30 s); tie it to the quantization window, so hot revisions stay shared. */
  readonly ttlMs?: number;
  /** A Redis call slower than this counts as a failure and the request goes on without it (default 10 ms). */
  readonly timeoutMs?: number;
  /** Prepended to every key, so deployments can share one Redis (default `warden:`). */
  readonly keyPrefix?: string;
  /** Told when the tier goes out of use (Redis down, slow, or answering garbage) and back in. */
  readonly onStateChange?: (state: BreakerState, reason: string) => void;
  /** Circuit timings (for tests): how long the circuit stays open before a probe. */
  readonly openMs?: number;
}

/** The version of the entry format, in every key: a format change never reads old entries. */
const FORMAT = 'c1:';

/**
 * The check cache tier shared by every process of a deployment, in Redis (ioredis): lookups in
 * one MGET per batch, stores through auto-pipelining, each entry with a TTL. Redis is never a
 * reason to fail or to be wrong: an error, a timeout or a value that does not decode counts as a
 * failure, the request carries on from the store, and after a few failures in a row a circuit
 * breaker skips Redis altogether, probing now and then until it answers again.
 */
export class RedisCheckCache implements CheckCacheTier {
  readonly name = 'redis';
  readonly stats: TierStats & { errors: number; garbage: number; skipped: number; stored: number } = { hits: 0, misses: 0, errors: 0, garbage: 0, skipped: 0, stored: 0 };
  readonly #redis: Redis;
  readonly #breaker: CircuitBreaker;
  readonly #ttlMs: number;
  readonly #prefix: string;

  constructor(url: string, options: RedisCacheOptions = {}) {
    this.#ttlMs = options.ttlMs ?? 30_000;
    this.#prefix = (options.keyPrefix ?? 'warden:') + FORMAT;
    const timeoutMs = options.timeoutMs ?? 10;
    this.#breaker = new CircuitBreaker({ openMs: options.openMs ?? 500, ...(options.onStateChange ? { onChange: options.onStateChange } : {}) });
    this.#redis = new Redis(url, {
      enableAutoPipelining: true,
      // Never queue or retry a command for a connection that is down: the store answers instead.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: timeoutMs,
      connectTimeout: 1000,
      // Reconnect in the background for as long as it takes.
      retryStrategy: (times) => Math.min(100 * times, 2000),
      lazyConnect: false,
    });
    // Connection errors are the breaker's to report, once per change of state.
    this.#redis.on('error', () => {});
  }

  /** Whether the tier is in use: closed (yes), open (skipped), half-open (probing). */
  get state(): BreakerState {
    return this.#breaker.state;
  }

  getMany(keys: readonly string[]): Promise<readonly (CheckEntry | undefined)[]> | readonly (CheckEntry | undefined)[] {
    if (!keys.length) return [];
    if (!this.#breaker.allow()) {
      this.stats.skipped += keys.length;
      return keys.map(() => undefined);
    }
    return this.#redis.mget(keys.map((k) => this.#prefix + k)).then(
      (values) => {
        let bad = 0;
        const out = values.map((v) => {
          if (v === null) return undefined;
          const e = decodeEntry(v);
          if (!e) bad++;
          return e ?? undefined;
        });
        if (bad) {
          this.stats.garbage += bad;
          this.#breaker.failure(`Redis returned ${bad} value(s) that are not cache entries`);
        } else this.#breaker.success();
        return out;
      },
      (e: unknown) => {
        this.stats.errors++;
        this.#breaker.failure(e instanceof Error ? e.message : String(e));
        return keys.map(() => undefined);
      },
    );
  }

  setMany(entries: readonly (readonly [string, CheckEntry])[]): void {
    if (!entries.length || this.#breaker.state !== 'closed') return;
    for (const [key, entry] of entries) {
      this.#redis.set(this.#prefix + key, encodeEntry(entry), 'PX', this.#ttlMs).then(
        () => void this.stats.stored++,
        (e: unknown) => {
          this.stats.errors++;
          this.#breaker.failure(e instanceof Error ? e.message : String(e));
        },
      );
    }
  }

  /** Waits (at most `ms`) for the first connection; true when Redis is reachable. */
  ready(ms = 2000): Promise<boolean> {
    if (this.#redis.status === 'ready') return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean): void => {
        clearTimeout(timer);
        this.#redis.off('ready', onReady);
        resolve(ok);
      };
      const onReady = (): void => done(true);
      const timer = setTimeout(() => done(false), ms);
      this.#redis.once('ready', onReady);
    });
  }

  /** Closes the connection. */
  async close(): Promise<void> {
    this.#redis.disconnect();
  }
}
