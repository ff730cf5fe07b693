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
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #buckets = new Map<string, { tokens: number; at: number }>();

  constructor(perSecond: number, options: { burst?: number; now?: () => number } = {}) {
    this.#perMs = perSecond / 1000;
    this.#burst = Math.max(1, options.burst ?? perSecond);
    this.#now = options.now ?? Date.now;
  }

  /** Takes one call's token for `tenant`, or throws RESOURCE_EXHAUSTED with when to retry. */
  take(tenant: string): void {
    const now = this.#now();
    let b = this.#buckets.get(tenant);
    if (!b) {
      if (this.#buckets.size >= MAX_TENANTS) this.#prune(now);
      this.#buckets.set(tenant, (b = { tokens: this.#burst, at: now }));
    }
    b.tokens = Math.min(this.#burst, b.tokens + (now - b.at) * this.#perMs);
    b.at = now;
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return;
    }
    const waitMs = Math.max(1, Math.ceil((1 - b.tokens) / this.#perMs));
    throw new WardenError('RESOURCE_EXHAUSTED', `this tenant is over its request rate (${this.#perMs * 1000} calls a second): retry in ${waitMs} ms`, { retryAfterMs: waitMs });
  }

  /** Drops buckets that have refilled (their tenants are idle): they would start full anyway. */
  #prune(now: number): void {
    for (const [tenant, b] of this.#buckets) if (b.tokens + (now - b.at) * this.#perMs >= this.#burst) this.#buckets.delete(tenant);
    if (this.#buckets.size >= MAX_TENANTS) this.#buckets.clear();
  }
}
