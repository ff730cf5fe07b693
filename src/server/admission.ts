import { WardenError } from '../errors/error-code.js';

/** How many calls a server runs at once, and how many may wait for a turn. */
export interface AdmissionLimits {
  readonly maxInFlight: number;
  readonly maxQueued: number;
}

/** The default admission limits. */
export const DEFAULT_ADMISSION: AdmissionLimits = Object.freeze({ maxInFlight: 64, maxQueued: 256 });

/** What a refused caller is told to wait before retrying (the `grpc-retry-pushback-ms` trailer). */
export const RETRY_AFTER_MS = 100;

/**
 * Admission control: at most `maxInFlight` calls run at once and at most `maxQueued` wait, first
 * come first served. Past that a call is refused at once with RESOURCE_EXHAUSTED and retry
 * advice, so an overloaded server sheds load instead of making every caller wait; a waiting call
 * whose caller gives up (deadline, cancel) leaves the queue without running.
 */
export class Admission {
  readonly #limits: AdmissionLimits;
  #inFlight = 0;
  readonly #queue: { start: () => void; fail: (e: unknown) => void; signal: AbortSignal; onAbort: () => void }[] = [];

  constructor(limits: AdmissionLimits = DEFAULT_ADMISSION) {
    this.#limits = limits;
  }

  /** Calls running now, and waiting. */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.#inFlight, queued: this.#queue.length };
  }

  /** Waits for a turn; resolves with the release to call when the call ends. */
  enter(signal: AbortSignal): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    if (this.#inFlight < this.#limits.maxInFlight) {
      this.#inFlight++;
      return Promise.resolve(this.#release());
    }
    if (this.#queue.length >= this.#limits.maxQueued) {
      return Promise.reject(
        new WardenError('RESOURCE_EXHAUSTED', `the server is at capacity (${this.#inFlight} calls running, ${this.#queue.length} waiting): retry after a short backoff`, {
          retryAfterMs: RETRY_AFTER_MS,
        }),
      );
    }
    return new Promise((resolve, reject) => {
      const entry = {
        signal,
        start: () => {
          signal.removeEventListener('abort', entry.onAbort);
          this.#inFlight++;
          resolve(this.#release());
        },
        fail: reject,
        onAbort: () => {
          const i = this.#queue.indexOf(entry);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      this.#queue.push(entry);
    });
  }

  #release(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      this.#queue.shift()?.start();
    };
  }
}
