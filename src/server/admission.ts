import { WardenError } from '../errors/error-code.js';
import { TenantRateLimit } from './rate-limit.js';

/** How many calls a server runs at once, and how many may wait for a turn. */
export interface AdmissionLimits {
  readonly maxInFlight: number;
  readonly maxQueued: number;
  /** Calls one tenant may run at once (default: `maxInFlight`, no cap of its own). */
  readonly maxInFlightPerTenant?: number;
  /** Calls one tenant may have waiting (default: `maxQueued`; a full queue still makes room for another tenant). */
  readonly maxQueuedPerTenant?: number;
  /** Calls a second one tenant may make (0 or absent: no limit); a burst of a second's worth. */
  readonly maxRatePerTenant?: number;
  /**
   * A tenant's own rate and in-flight limits, where its settings give them (read at once: a
   * cached value), in place of the per-tenant defaults above; the server's totals still bound it.
   */
  readonly tenantLimits?: (tenant: string) => { readonly maxRatePerSecond?: number | undefined; readonly maxInFlight?: number | undefined };
}

/** The default admission limits. */
export const DEFAULT_ADMISSION: AdmissionLimits = Object.freeze({ maxInFlight: 64, maxQueued: 256 });

/** What a refused caller is told to wait before retrying (the `grpc-retry-pushback-ms` trailer). */
export const RETRY_AFTER_MS = 100;

interface Waiting {
  readonly tenant: string;
  readonly start: () => void;
  readonly onAbort: () => void;
  /** Refuses the waiting call (it is pushed out of a full queue). */
  readonly refuse: (e: unknown) => void;
}

/**
 * Admission control, fair between tenants: at most `maxInFlight` calls run at once (at most
 * `maxInFlightPerTenant` of one tenant) and at most `maxQueued` wait (at most
 * `maxQueuedPerTenant` of one tenant). Past that a call is refused at once with
 * RESOURCE_EXHAUSTED and retry advice, so an overloaded server sheds load instead of making every
 * caller wait. Waiting calls queue per tenant and turns go round the tenants in order, first come
 * first served within each: a tenant that floods the server waits behind its own calls, not in
 * front of everyone else's. When the queue is full, a call of a tenant with fewer calls waiting
 * takes the place of the newest waiting call of the tenant with the most (which is refused, as
 * it would have been had it come last), so one tenant never fills the queue against the others
 * while a server with one tenant still queues `maxQueued`. A waiting call whose caller gives up
 * (deadline, cancel) leaves the queue without running.
 */
export class Admission {
  readonly #maxInFlight: number;
  readonly #maxQueued: number;
  readonly #perTenantInFlight: number;
  readonly #perTenantQueued: number;
  #inFlight = 0;
  #queued = 0;
  readonly #running = new Map<string, number>();
  /** Waiting calls by tenant; the map's order is the round (a tenant served goes to the back). */
  readonly #queues = new Map<string, Waiting[]>();
  /** The per-tenant request rates, checked before a call takes its turn. */
  readonly #rate: TenantRateLimit;
  readonly #defaultRate: number;
  readonly #tenantLimits: NonNullable<AdmissionLimits['tenantLimits']> | null;

  constructor(limits: AdmissionLimits = DEFAULT_ADMISSION) {
    this.#defaultRate = limits.maxRatePerTenant ?? 0;
    this.#rate = new TenantRateLimit(this.#defaultRate || 1);
    this.#tenantLimits = limits.tenantLimits ?? null;
    this.#maxInFlight = limits.maxInFlight;
    this.#maxQueued = limits.maxQueued;
    this.#perTenantInFlight = Math.max(1, Math.min(limits.maxInFlightPerTenant ?? limits.maxInFlight, limits.maxInFlight));
    this.#perTenantQueued = Math.max(1, limits.maxQueuedPerTenant ?? limits.maxQueued);
  }

  /** Calls running now, and waiting. */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.#inFlight, queued: this.#queued };
  }

  /** Waits for a turn for a call of `tenant` (refused at once past its request rate); resolves with the release to call when the call ends. */
  enter(signal: AbortSignal, tenant = ''): Promise<() => void> {
    if (signal.aborted) return Promise.reject(signal.reason);
    const limits = this.#tenantLimits?.(tenant);
    try {
      const rate = limits?.maxRatePerSecond || this.#defaultRate;
      if (rate) this.#rate.take(tenant, rate);
    } catch (e) {
      return Promise.reject(e);
    }
    const running = this.#running.get(tenant) ?? 0;
    if (this.#inFlight < this.#maxInFlight && running < this.#inFlightCap(limits?.maxInFlight) && !this.#queues.has(tenant)) {
      this.#begin(tenant);
      return Promise.resolve(this.#release(tenant));
    }
    const own = this.#queues.get(tenant)?.length ?? 0;
    if (this.#queued >= this.#maxQueued && own < this.#perTenantQueued) this.#pushOut(tenant, own);
    const full = this.#queued >= this.#maxQueued;
    if (full || own >= this.#perTenantQueued) {
      // Which limit refused it: the server's queue, or this tenant's own share of it.
      const mine = !full;
      return Promise.reject(
        new WardenError(
          'RESOURCE_EXHAUSTED',
          mine
            ? `this tenant has ${own} calls waiting, its most (and ${running} running): retry after a short backoff`
            : `the server is at capacity (${this.#inFlight} calls running, ${this.#queued} waiting): retry after a short backoff`,
          { retryAfterMs: RETRY_AFTER_MS },
        ),
      );
    }
    return new Promise((resolve, reject) => {
      const entry: Waiting = {
        tenant,
        refuse: (e) => {
          signal.removeEventListener('abort', entry.onAbort);
          reject(e);
        },
        start: () => {
          signal.removeEventListener('abort', entry.onAbort);
          this.#begin(tenant);
          resolve(this.#release(tenant));
        },
        onAbort: () => {
          const q = this.#queues.get(tenant);
          const i = q?.indexOf(entry) ?? -1;
          if (q && i >= 0) {
            q.splice(i, 1);
            this.#queued--;
            if (!q.length) this.#queues.delete(tenant);
          }
          reject(signal.reason);
        },
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
      const q = this.#queues.get(tenant);
      if (q) q.push(entry);
      else this.#queues.set(tenant, [entry]);
      this.#queued++;
    });
  }

  /**
   * Makes room in a full queue for a call of `tenant` (which has `own` waiting): refuses the
   * newest waiting call of the tenant with the most waiting, if that is more than `own + 1`.
   */
  #pushOut(tenant: string, own: number): void {
    let victim: string | null = null;
    let most = own + 1;
    for (const [t, q] of this.#queues) {
      if (t !== tenant && q.length > most) {
        victim = t;
        most = q.length;
      }
    }
    if (victim === null) return;
    const q = this.#queues.get(victim)!;
    const entry = q.pop()!;
    this.#queued--;
    if (!q.length) this.#queues.delete(victim);
    entry.refuse(
      new WardenError('RESOURCE_EXHAUSTED', `the server is at capacity and this tenant has the most calls waiting (${most}): retry after a short backoff`, { retryAfterMs: RETRY_AFTER_MS }),
    );
  }

  /** The calls a tenant may run at once: its own setting (`own`), else the per-tenant default (never past the server's). */
  #inFlightCap(own: number | undefined): number {
    return own ? Math.max(1, Math.min(own, this.#maxInFlight)) : this.#perTenantInFlight;
  }

  #begin(tenant: string): void {
    this.#inFlight++;
    this.#running.set(tenant, (this.#running.get(tenant) ?? 0) + 1);
  }

  #release(tenant: string): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inFlight--;
      const left = (this.#running.get(tenant) ?? 1) - 1;
      if (left) this.#running.set(tenant, left);
      else this.#running.delete(tenant);
      this.#next();
    };
  }

  /** Gives free turns to waiting calls, going round the tenants that may run one more. */
  #next(): void {
    while (this.#inFlight < this.#maxInFlight && this.#queued) {
      let served = false;
      for (const [tenant, q] of this.#queues) {
        if ((this.#running.get(tenant) ?? 0) >= this.#inFlightCap(this.#tenantLimits?.(tenant).maxInFlight)) continue;
        const entry = q.shift()!;
        this.#queued--;
        // Served: to the back of the round (or out of it when nothing else of it waits).
        this.#queues.delete(tenant);
        if (q.length) this.#queues.set(tenant, q);
        entry.start();
        served = true;
        break;
      }
      if (!served) return;
    }
  }
}
