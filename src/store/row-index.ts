import { relationshipKey, type Relationship } from '../model/relationship.js';
import { filterMatcher, validateFilter } from './filter.js';
import type { RelationshipFilter } from './store.js';

/** A stored relationship version: alive from `created` up to (not including) `deleted`. */
export interface IndexedRow {
  readonly rel: Relationship;
  readonly created: number;
  deleted: number;
}

/**
 * Every version of every relationship of one tenant, in memory, indexed by resource, by subject
 * and by type, so a read at any revision it holds is an exact snapshot. The memory store keeps
 * its data here; the embedded store keeps a copy of its database here to read from.
 */
export class RowIndex {
  /** Live and historical rows by `type:id#relation`. */
  readonly #byResource = new Map<string, IndexedRow[]>();
  /** Rows by `resourceType#relation@subjectType:subjectId`. */
  readonly #bySubject = new Map<string, IndexedRow[]>();
  /** Rows by resource type, for filters without ids. */
  readonly #byType = new Map<string, IndexedRow[]>();
  /** The live row of each relationship key. */
  readonly #live = new Map<string, IndexedRow>();

  /** The live (not deleted; perhaps expired) row of a relationship key. */
  live(key: string): IndexedRow | undefined {
    return this.#live.get(key);
  }

  /** Every live (not deleted) row. */
  liveRows(): IterableIterator<IndexedRow> {
    return this.#live.values();
  }

  /** Every row, live or not, for the changelog. */
  *allRows(): Generator<IndexedRow> {
    for (const rows of this.#byType.values()) yield* rows;
  }

  /** Ends the live version of a key at revision `at`. */
  end(key: string, at: number): void {
    const old = this.#live.get(key);
    if (old) {
      old.deleted = at;
      this.#live.delete(key);
    }
  }

  /** Adds a version created at `created` (deleted at `deleted`, Infinity while live); a live one becomes the key's live row. */
  add(rel: Relationship, created: number, deleted = Infinity): void {
    const row: IndexedRow = { rel, created, deleted };
    if (deleted === Infinity) this.#live.set(relationshipKey(rel), row);
    push(this.#byResource, `${rel.resource.type}:${rel.resource.id}#${rel.relation}`, row);
    push(this.#bySubject, `${rel.resource.type}#${rel.relation}@${rel.subject.type}:${rel.subject.id}`, row);
    push(this.#byType, rel.resource.type, row);
  }

  /** The relationships matching a filter visible at revision `at` and not expired at `now` (ms). */
  query(f: RelationshipFilter, at: number, now: number): Relationship[] {
    validateFilter(f);
    let candidates: readonly IndexedRow[];
    if (f.resourceIds && f.relation !== undefined) {
      candidates = gather(this.#byResource, f.resourceIds.map((id) => `${f.resourceType}:${id}#${f.relation}`));
    } else if (f.subjectIds && f.subjectType !== undefined && f.relation !== undefined) {
      candidates = gather(this.#bySubject, f.subjectIds.map((id) => `${f.resourceType}#${f.relation}@${f.subjectType}:${id}`));
    } else {
      candidates = this.#byType.get(f.resourceType) ?? [];
    }
    const matches = filterMatcher(f);
    const out: Relationship[] = [];
    for (const row of candidates) {
      if (row.created > at || row.deleted <= at) continue;
      const r = row.rel;
      if (r.expiresAt && r.expiresAt.getTime() <= now) continue;
      if (matches(r)) out.push(r);
    }
    return out;
  }

  /** Drops the rows `keep` refuses; returns how many versions went. */
  prune(keep: (row: IndexedRow) => boolean): number {
    let removed = 0;
    for (const index of [this.#byResource, this.#bySubject, this.#byType]) {
      for (const [key, rows] of index) {
        const kept = rows.filter(keep);
        if (index === this.#byType) removed += rows.length - kept.length;
        if (kept.length) index.set(key, kept);
        else index.delete(key);
      }
    }
    for (const [key, row] of this.#live) if (!keep(row)) this.#live.delete(key);
    return removed;
  }
}

function push<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

function gather(m: Map<string, IndexedRow[]>, keys: readonly string[]): readonly IndexedRow[] {
  if (keys.length === 1) return m.get(keys[0]!) ?? [];
  const out: IndexedRow[] = [];
  for (const k of new Set(keys)) {
    const rows = m.get(k);
    if (rows) for (const r of rows) out.push(r);
  }
  return out;
}
