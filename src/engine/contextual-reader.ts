import { relationshipKey, type Relationship } from '../model/relationship.js';
import { filterMatcher } from '../store/filter.js';
import type { RelationshipFilter, SnapshotReader } from '../store/store.js';

/**
 * A snapshot reader that adds a request's contextual relationships to what the store holds.
 * They count for this request only; one with the same key as a stored relationship replaces it
 * (so a request can supply its own caveat context or expiration). Relationships whose keys are in
 * `removed` are left out (a simulation's proposed deletes).
 */
export class ContextualReader implements SnapshotReader {
  readonly #inner: SnapshotReader;
  readonly #extra: readonly Relationship[];
  readonly #keys: ReadonlySet<string>;
  readonly #now: () => number;
  readonly #removed: ReadonlySet<string>;
  readonly queryMany: SnapshotReader['queryMany'];
  readonly querySync: SnapshotReader['querySync'];

  constructor(inner: SnapshotReader, extra: readonly Relationship[], now: () => number = Date.now, removed: ReadonlySet<string> = new Set()) {
    this.#inner = inner;
    this.#extra = extra;
    this.#keys = new Set(extra.map(relationshipKey));
    this.#now = now;
    this.#removed = removed;
    const many = inner.queryMany;
    this.queryMany = many ? async (filters) => (await many(filters)).map((stored, i) => this.#merge(filters[i]!, stored)) : undefined;
    const sync = inner.querySync;
    this.querySync = sync
      ? (filter) => {
          const stored = sync(filter);
          return stored && this.#merge(filter, stored);
        }
      : undefined;
  }

  get revision(): SnapshotReader['revision'] {
    return this.#inner.revision;
  }

  async query(filter: RelationshipFilter): Promise<readonly Relationship[]> {
    return this.#merge(filter, await this.#inner.query(filter));
  }

  /** The stored answer to a filter with the request's contextual relationships that match it added. */
  #merge(filter: RelationshipFilter, stored: readonly Relationship[]): readonly Relationship[] {
    const matches = filterMatcher(filter);
    const now = this.#now();
    const extra = this.#extra.filter((r) => matches(r) && !(r.expiresAt && r.expiresAt.getTime() <= now));
    if (!extra.length && !this.#removed.size) return stored;
    return [...stored.filter((r) => !this.#keys.has(relationshipKey(r)) && !this.#removed.has(relationshipKey(r))), ...extra];
  }
}
