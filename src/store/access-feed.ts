/** A change to who may act, made by any process on the datastore. */
export type AccessChange =
  | { readonly kind: 'tenant-deleted'; readonly tenant: string }
  | { readonly kind: 'key-revoked'; readonly id: string }
  /** Changes may have been missed (the feed from other processes was lost): forget what was cached. */
  | { readonly kind: 'reset' };

/**
 * The access changes of a datastore, for the caches that must drop a revoked key or a deleted
 * tenant at once. Changes made in this process are delivered as they commit; changes made by
 * other processes arrive through the datastore (PostgreSQL LISTEN/NOTIFY) while `live` is true.
 * While it is false, a cache must not keep anything: it could miss a revocation.
 */
export class AccessFeed {
  readonly #listeners = new Set<(c: AccessChange) => void>();
  readonly #start: (() => () => void) | null;
  #stop: (() => void) | null = null;
  #live: boolean;

  /**
   * `start` connects to other processes' changes (called on the first subscription, its result
   * on close); without it the feed is complete by itself (one process owns the datastore).
   */
  constructor(start?: () => () => void) {
    this.#start = start ?? null;
    this.#live = !start;
  }

  /** True while every change, from any process, is being delivered. */
  get live(): boolean {
    return this.#live;
  }

  /** Calls `fn` with every change from now on; returns the unsubscribe. */
  subscribe(fn: (c: AccessChange) => void): () => void {
    this.#listeners.add(fn);
    if (this.#start && !this.#stop) this.#stop = this.#start();
    return () => this.#listeners.delete(fn);
  }

  /** Delivers a change to every subscriber. A subscriber that throws does not stop the others. */
  emit(c: AccessChange): void {
    for (const fn of this.#listeners) {
      try {
        fn(c);
      } catch {
        // A cache's failure to forget must not fail the change that was committed.
      }
    }
  }

  /** Marks whether other processes' changes are being received; losing them is a reset. */
  setLive(live: boolean): void {
    const was = this.#live;
    this.#live = live;
    if (was && !live) this.emit({ kind: 'reset' });
  }

  /** Stops receiving other processes' changes. */
  close(): void {
    this.#stop?.();
    this.#stop = null;
    this.#live = !this.#start;
  }
}
