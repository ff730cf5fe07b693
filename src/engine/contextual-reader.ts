import { relationshipKey, type Relationship } from '../model/relationship.js';
import { filterMatcher } from '../store/filter.js';
import type { RelationshipFilter, SnapshotReader } from '../store/store.js';

/**
 * A snapshot reader that adds a request's contextual relationships to what the store holds.
 * They count for this request only; one with the same key as a stored relationship replaces it
 * (so a request can supply its own caveat context or expiration).
 */
export class ContextualReader implements SnapshotReader {
  readonly #inner: SnapshotReader;
  readonly #extra: readonly Relationship[];
  readonly #keys: ReadonlySet<string>;
  readonly #now: () => number;

  constructor(inner: SnapshotReader, extra: readonly Relationship[], now: () => number = Date.now) {
    this.#inner = inner;
    this.#extra = extra;
    this.#keys = new Set(extra.map(relationshipKey));
    this.#now = now;
  }

  get revision(): SnapshotReader['revision'] {
    return this.#inner.revision;
  }

  async query(filter: RelationshipFilter): Promise<readonly Relationship[]> {
    const stored = await this.#inner.query(filter);
    const matches = filterMatcher(filter);
    const now = this.#now();
    const extra = this.#extra.filter((r) => matches(r) && !(r.expiresAt && r.expiresAt.getTime() <= now));
    if (!extra.length) return stored;
    return [...stored.filter((r) => !this.#keys.has(relationshipKey(r))), ...extra];
  }
}
