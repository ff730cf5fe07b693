import { invalidArgument } from '../errors/error-code.js';
import { compareRevisions, type Revision, type Store } from '../store/store.js';
import { decodeZookie } from './zookie.js';

/** How fresh a read must be. */
export type Consistency =
  | { readonly mode: 'minimize_latency' }
  | { readonly mode: 'at_least_as_fresh'; readonly zookie: string }
  | { readonly mode: 'at_exact_snapshot'; readonly zookie: string }
  | { readonly mode: 'fully_consistent' };

/** The default quantization window for minimize_latency: 5 seconds. */
export const DEFAULT_QUANTIZATION_MS = 5000;

/**
 * Picks the revision a read is answered at, once, at the edge. minimize_latency reads the
 * revision current at the start of the present quantization window, so concurrent requests share
 * it (and their cache entries); at_least_as_fresh reads that or the zookie's revision, whichever
 * is newer; at_exact_snapshot reads the zookie's revision, failing once it has been
 * garbage-collected; fully_consistent reads the head.
 */
export class RevisionPicker {
  readonly #store: Store;
  readonly #datastoreId: string;
  readonly #tenant: string;
  readonly #quantumMs: number;
  readonly #now: () => number;
  #cached: { window: number; revision: Revision } | null = null;

  constructor(store: Store, datastoreId: string, options: { tenant?: string; quantizationMs?: number; now?: () => number } = {}) {
    this.#store = store;
    this.#datastoreId = datastoreId;
    this.#tenant = options.tenant ?? 'default';
    this.#quantumMs = options.quantizationMs ?? DEFAULT_QUANTIZATION_MS;
    this.#now = options.now ?? Date.now;
  }

  /** The revision for a read with this consistency. */
  async pick(c: Consistency = { mode: 'minimize_latency' }): Promise<Revision> {
    switch (c.mode) {
      case 'fully_consistent':
        return this.#store.headRevision();
      case 'minimize_latency':
        return this.#quantized();
      case 'at_least_as_fresh': {
        const wanted = decodeZookie(c.zookie, this.#datastoreId, this.#tenant);
        const q = await this.#quantized();
        if (compareRevisions(q, wanted) >= 0) return q;
        await this.#store.checkRevision(wanted);
        return wanted;
      }
      case 'at_exact_snapshot': {
        const wanted = decodeZookie(c.zookie, this.#datastoreId, this.#tenant);
        await this.#store.checkRevision(wanted);
        return wanted;
      }
      default: {
        const never: never = c;
        throw invalidArgument('consistency', `unknown mode ${JSON.stringify(never)}`);
      }
    }
  }

  async #quantized(): Promise<Revision> {
    if (this.#quantumMs <= 0) return this.#store.headRevision();
    const window = Math.floor(this.#now() / this.#quantumMs);
    if (this.#cached?.window === window) return this.#cached.revision;
    const revision = await this.#store.revisionAt(new Date(window * this.#quantumMs));
    this.#cached = { window, revision };
    return revision;
  }
}
