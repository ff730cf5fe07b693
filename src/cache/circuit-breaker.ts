/** Where a circuit breaker stands: closed (calls go through), open (calls skipped), half-open (one probe goes through). */
export type BreakerState = 'closed' | 'open' | 'half-open';

/** Settings of a CircuitBreaker. */
export interface BreakerOptions {
  /** Failures in a row that open the circuit (default 3). */
  readonly failureThreshold?: number;
  /** How long the circuit first stays open before a probe (default 500 ms); doubled on each failed probe. */
  readonly openMs?: number;
  /** The longest it stays open between probes (default 10 s). */
  readonly maxOpenMs?: number;
  /**
   * Failures closer together than this count as one (default 5 ms): when this process stalls
   * (a GC pause, a burst of CPU work), every call in flight times out at once, which says
   * nothing about the dependency.
   */
  readonly coalesceMs?: number;
  /** Told of each change of state, once per change. */
  readonly onChange?: (state: BreakerState, reason: string) => void;
  /** The clock (for tests). */
  readonly now?: () => number;
}

/**
 * CircuitBreaker stops calling a dependency that keeps failing, so a dead or slow dependency
 * costs a request nothing, and lets one probe through now and then to find out when it is back.
 */
export class CircuitBreaker {
  #state: BreakerState = 'closed';
  #reported: BreakerState = 'closed';
  #failures = 0;
  #openUntil = 0;
  #openMs: number;
  #probing = false;
  /** When the last failure that counted happened. */
  #lastFailure = -Infinity;
  readonly #coalesceMs: number;
  readonly #threshold: number;
  readonly #baseOpenMs: number;
  readonly #maxOpenMs: number;
  readonly #onChange: (state: BreakerState, reason: string) => void;
  readonly #now: () => number;

  constructor(options: BreakerOptions = {}) {
    this.#threshold = options.failureThreshold ?? 3;
    this.#coalesceMs = options.coalesceMs ?? 5;
    this.#baseOpenMs = this.#openMs = options.openMs ?? 500;
    this.#maxOpenMs = options.maxOpenMs ?? 10_000;
    this.#onChange = options.onChange ?? (() => {});
    this.#now = options.now ?? Date.now;
  }

  get state(): BreakerState {
    return this.#state;
  }

  /** May a call go through now? In half-open, only the one probe may, until it reports. */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#now() < this.#openUntil) return false;
      this.#set('half-open', 'probing');
    }
    if (this.#probing) return false;
    this.#probing = true;
    return true;
  }

  /** A call went through and worked. */
  success(): void {
    this.#failures = 0;
    this.#probing = false;
    if (this.#state !== 'closed') {
      this.#openMs = this.#baseOpenMs;
      this.#set('closed', 'a call succeeded');
    }
  }

  /** A call failed (error, timeout or a bad answer). */
  failure(reason: string): void {
    this.#probing = false;
    const now = this.#now();
    const burst = now - this.#lastFailure < this.#coalesceMs;
    if (!burst) this.#lastFailure = now;
    if (this.#state === 'half-open') {
      this.#openMs = Math.min(this.#openMs * 2, this.#maxOpenMs);
      this.#open(reason);
    } else if (this.#state === 'closed' && !burst && ++this.#failures >= this.#threshold) this.#open(reason);
  }

  #open(reason: string): void {
    this.#failures = 0;
    this.#openUntil = this.#now() + this.#openMs;
    this.#set('open', reason);
  }

  #set(state: BreakerState, reason: string): void {
    if (state === this.#state) return;
    this.#state = state;
    // A probe is routine (and a failed one leaves it open): what an operator needs to hear about
    // is the circuit opening and closing.
    if (state !== 'half-open' && state !== this.#reported) {
      this.#reported = state;
      this.#onChange(state, reason);
    }
  }
}
