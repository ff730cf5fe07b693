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
  readonly queryMany: SnapshotReader['queryMany'];

  constructor(inner: SnapshotReader, extra: readonly Relationship[], now: () => number = Date.now) {
    this.#inner = inner;
    this.#extra = extra;
    this.#keys = new Set(extra.map(relationshipKey));
    this.#now = now;
    const many = inner.queryMany;
    this.queryMany = many ? async (filters) => (await many(filters)).map((stored, i) => this.#merge(filters[i]!, stored)) : undefined;
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
    if (!extra.length) return stored;
    return [...stored.filter((r) => !this.#keys.has(relationshipKey(r))), ...extra];
  }
}
