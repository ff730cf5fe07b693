/** How long writers may wait for, and hold, the writer lock. */
export interface LockLimits {
  /** The longest a writer waits for the lock before UNAVAILABLE (default 30 s); any statement's lock wait, in fact. */
  readonly lockWaitMs: number;
  /** The longest one request may hold the lock (default 30 s); past it the write fails and nothing is written. */
  readonly maxLockMs: number;
}

/** The default lock limits. */
export const DEFAULT_LOCK_LIMITS: LockLimits = Object.freeze({ lockWaitMs: 30_000, maxLockMs: 30_000 });
