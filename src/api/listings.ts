import { randomUUID } from 'node:crypto';
import { invalidArgument } from '../errors/error-code.js';
import type { Revision } from '../store/store.js';
import { encodeListCursor, type ListCursor, type ListPosition } from './list-cursor.js';

/** One result of a listing and its position (what a cursor after it records). */
export interface Positioned<T> {
  readonly item: T;
  readonly position: ListPosition;
}

/** A listing's source of results: opened at the start, or after a position (on any server). */
export type OpenListing<T> = (after: ListPosition | null, signal: AbortSignal) => AsyncIterator<Positioned<T>>;

interface Parked {
  readonly key: string;
  readonly iterator: AsyncIterator<Positioned<unknown>>;
  /** The position of the last result sent: only a cursor from there resumes this walk. */
  readonly after: string;
  readonly next: Positioned<unknown>;
  readonly controller: AbortController;
  readonly timer: NodeJS.Timeout;
}

/** How many listings one server keeps parked between pages, and for how long. */
export const PARKED_LISTINGS = 64;
export const PARKED_LISTING_MS = 60_000;

/**
 * Listings in progress between pages. A page that stops at its limit parks its walk here, so the
 * next page (with the cursor) resumes it instead of recomputing; at most PARKED_LISTINGS are kept
 * (the oldest goes first), each for PARKED_LISTING_MS. A cursor whose listing is not here (another
 * server, a restart, too long a pause) resumes from its position by walking again.
 */
export class Listings {
  readonly #parked = new Map<string, Parked>();

  /**
   * Streams one page of a listing: up to `limit` results, the last carrying the cursor to go on
   * when more remain (with `everyResult`, every result carries the cursor after it, as SpiceDB's
   * lookups do). `scope` (tenant, revision, request digest) must match the cursor's.
   */
  async page<T>(
    scope: { tenant: string; revision: Revision; request: string },
    cursor: ListCursor | null,
    limit: number,
    signal: AbortSignal,
    open: OpenListing<T>,
    send: (item: T, cursor: string) => Promise<void>,
    options: { everyResult?: boolean } = {},
  ): Promise<void> {
    if (cursor && cursor.request !== scope.request) throw invalidArgument('cursor', 'was issued for a different request: send the same request with its cursor');
    const listing = cursor?.listing ?? randomUUID();
    const key = `${scope.tenant}\u0000${listing}\u0000${scope.request}`;
    const parked = cursor ? this.#take(key, JSON.stringify(cursor.position)) : null;
    const controller = parked?.controller ?? new AbortController();
    // The walk outlives this call only while parked: cancelling the call ends it.
    const onAbort = (): void => controller.abort(signal.reason);
    if (signal.aborted) onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    let iterator: AsyncIterator<Positioned<unknown>> | null = null;
    try {
      iterator = parked?.iterator ?? (open(cursor?.position ?? null, controller.signal) as AsyncIterator<Positioned<unknown>>);
      let current: Positioned<unknown> | null = parked?.next ?? next(await iterator.next());
      for (let sent = 0; current; ) {
        const following = next(await iterator.next());
        sent++;
        const more = sent === limit && following !== null;
        const position = current.position;
        await send(current.item as T, more || options.everyResult ? encodeListCursor({ revision: scope.revision, listing, request: scope.request, position }) : '');
        if (sent === limit) {
          if (following) this.#park(key, iterator, JSON.stringify(position), following, controller);
          else await iterator.return?.();
          iterator = null;
          return;
        }
        current = following;
      }
      iterator = null;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Ended by an error, or by the client: release the walk.
      if (iterator) await iterator.return?.().catch(() => {});
    }
  }

  /** The walk parked under `key`, if it stopped at `after` (else it stays for its own cursor). */
  #take(key: string, after?: string): Parked | null {
    const p = this.#parked.get(key);
    if (!p || (after !== undefined && p.after !== after)) return null;
    this.#parked.delete(key);
    clearTimeout(p.timer);
    return p;
  }

  #park(key: string, iterator: AsyncIterator<Positioned<unknown>>, after: string, nextItem: Positioned<unknown>, controller: AbortController): void {
    // A page resumed from an earlier result of the same listing replaces the walk parked before.
    if (this.#parked.has(key)) this.#drop(key);
    if (this.#parked.size >= PARKED_LISTINGS) this.#drop(this.#parked.keys().next().value!);
    const timer = setTimeout(() => this.#drop(key), PARKED_LISTING_MS);
    timer.unref();
    this.#parked.set(key, { key, iterator, after, next: nextItem, controller, timer });
  }

  #drop(key: string): void {
    const p = this.#take(key);
    if (!p) return;
    p.controller.abort();
    p.iterator.return?.().catch(() => {});
  }

  /** Releases every parked listing (at shutdown). */
  close(): void {
    for (const key of [...this.#parked.keys()]) this.#drop(key);
  }
}

function next<T>(r: IteratorResult<T>): T | null {
  return r.done ? null : r.value;
}
