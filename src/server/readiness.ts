/** What readiness reports: whether the server should get traffic, and why. */
export interface ReadinessState {
  /** True when the datastore answers and is migrated to this version, and the server is not draining. */
  readonly ready: boolean;
  readonly draining: boolean;
  /** `ok`, or why the last probe failed (unreachable, not migrated, too slow). */
  readonly datastore: string;
  /** The Redis check cache: `in use`, `out of use` (its breaker is open), or `not configured`. Never decides readiness. */
  readonly redis: string;
  /** When the datastore was last probed (ISO 8601). */
  readonly checkedAt: string;
}

/** How often the datastore is probed, and how long one probe may take. */
export const READINESS_INTERVAL_MS = 2_000;
export const READINESS_TIMEOUT_MS = 2_000;

/**
 * Readiness: probes the datastore (reachable and migrated to exactly this version) every
 * `intervalMs`, reports Redis's state (informational: the cache is never a reason to refuse
 * traffic), and goes not-ready for good once the server starts draining. `onChange` hears every
 * flip, so gRPC health follows it.
 */
export class Readiness {
  readonly #probe: () => Promise<void>;
  readonly #redis: (() => string) | null;
  readonly #onChange: (ready: boolean) => void;
  readonly #intervalMs: number;
  readonly #timeoutMs: number;
  #datastore = 'not checked yet';
  #checkedAt = new Date();
  #draining = false;
  #ready = false;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(options: { probe: () => Promise<void>; redis?: () => string; onChange: (ready: boolean) => void; intervalMs?: number; timeoutMs?: number }) {
    this.#probe = options.probe;
    this.#redis = options.redis ?? null;
    this.#onChange = options.onChange;
    this.#intervalMs = options.intervalMs ?? READINESS_INTERVAL_MS;
    this.#timeoutMs = options.timeoutMs ?? READINESS_TIMEOUT_MS;
  }

  /** Probes once now (the server starts ready only if this passes), then every interval. */
  async start(): Promise<void> {
    await this.check();
    this.#timer = setInterval(() => void this.check(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Probes the datastore now (joining a probe already running). */
  check(): Promise<void> {
    this.#running ??= this.#check().finally(() => (this.#running = null));
    return this.#running;
  }

  async #check(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.#probe(),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${this.#timeoutMs} ms`)), this.#timeoutMs))),
      ]);
      this.#datastore = 'ok';
    } catch (e) {
      this.#datastore = (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 300);
    } finally {
      clearTimeout(timer);
    }
    this.#checkedAt = new Date();
    this.#update();
  }

  /** Not ready from now on: the server is shutting down. */
  drain(): void {
    this.#draining = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#update();
  }

  #update(): void {
    const ready = !this.#draining && this.#datastore === 'ok';
    if (ready !== this.#ready) {
      this.#ready = ready;
      this.#onChange(ready);
    }
  }

  get state(): ReadinessState {
    const redis = this.#redis?.();
    return {
      ready: this.#ready,
      draining: this.#draining,
      datastore: this.#datastore,
      redis: redis === undefined ? 'not configured' : redis === 'closed' ? 'in use' : 'out of use',
      checkedAt: this.#checkedAt.toISOString(),
    };
  }

  /** Stops probing. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }
}
