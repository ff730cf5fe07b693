import { WardenError } from '../errors/error-code.js';
import type { Relationship } from '../model/relationship.js';
import type { RelationshipFilter, SnapshotReader } from '../store/store.js';

/**
 * A snapshot reader that stops reading once its request is cancelled or past its deadline, so
 * abandoned work stops consuming the store: the next read fails and the walk unwinds.
 */
export class CancellableReader implements SnapshotReader {
  readonly #inner: SnapshotReader;
  readonly #signal: AbortSignal;
  readonly queryMany: SnapshotReader['queryMany'];
  readonly querySync: SnapshotReader['querySync'];

  constructor(inner: SnapshotReader, signal: AbortSignal) {
    this.#inner = inner;
    this.#signal = signal;
    this.queryMany = this.#guarded(inner.queryMany);
    this.querySync = this.#guarded(inner.querySync);
  }

  /** A read of the inner reader's that first stops if the request is over. */
  #guarded<A, R>(read: ((a: A) => R) | undefined): ((a: A) => R) | undefined {
    return read
      ? (a) => {
          this.#stopIfAborted();
          return read(a);
        }
      : undefined;
  }

  get revision(): SnapshotReader['revision'] {
    return this.#inner.revision;
  }

  #stopIfAborted(): void {
    if (this.#signal.aborted) {
      const deadline = this.#signal.reason instanceof WardenError && this.#signal.reason.code === 'DEADLINE_EXCEEDED';
      throw deadline ? this.#signal.reason : new WardenError('CANCELLED', 'the request was cancelled');
    }
  }

  async query(filter: RelationshipFilter): Promise<readonly Relationship[]> {
    this.#stopIfAborted();
    return this.#inner.query(filter);
  }
}
