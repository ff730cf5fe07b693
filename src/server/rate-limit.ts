import { WardenError } from '../errors/error-code.js';

/** Tenants whose buckets are kept at most; past that, full (idle) buckets are dropped first. */
const MAX_TENANTS = 100_000;

/**
 * A request-rate limit per tenant: a token bucket of `perSecond` tokens a second holding at most
 * `burst` (default: one second's worth). A call past the limit is refused RESOURCE_EXHAUSTED
 * with retry advice (the time until the next token), so one tenant's burst is its own problem,
 * not its neighbours'.
 */
export class TenantRateLimit {
  readonly #perSecond: number;
  readonly #burst: number | undefined;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number; perMs: number; burst: number }>();

  constructor(perSecond: number, options: { burst?: number; now?: () => number } = {}) {
    this.#perSecond = perSecond;
    this.#burst = options.burst;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Takes one call's token for `tenant` (or any other name a bucket is kept under: a key's id) at
   * `perSecond` (default: the limit's), or throws RESOURCE_EXHAUSTED with when to retry, naming `who`.
   */
  take(tenant: string, perSecond = this.#perSecond, who = 'this tenant'): void {
    const now = this.#now();
    const perMs = perSecond / 1000;
    const burst = Math.max(1, this.#burst ?? perSecond);
    let b = this.#buckets.get(tenant);
    if (!b || b.perMs !== perMs) {
      // A tenant whose rate changed starts a bucket at its new rate.
      if (!b && this.#buckets.size >= MAX_TENANTS) this.#prune(now);
      this.#buckets.set(tenant, (b = { tokens: Math.min(burst, b?.tokens ?? burst), at: now, perMs, burst }));
    }
    b.tokens = Math.min(b.burst, b.tokens + (now - b.at) * b.perMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const waitMs = Math.max(1, Math.ceil((1 - b.tokens) / b.perMs));
    throw new WardenError('RESOURCE_EXHAUSTED', `${who} is over its request rate (${perSecond} calls a second): retry in ${waitMs} ms`, { retryAfterMs: waitMs });
  }

  /** Drops buckets that have refilled (their tenants are idle): they would start full anyway. */
  #prune(now: number): void {
    for (const [tenant, b] of this.#buckets) if (b.tokens + (now - b.at) * b.perMs >= b.burst) this.#buckets.delete(tenant);
    if (this.#buckets.size >= MAX_TENANTS) this.#buckets.clear();
  }
}
