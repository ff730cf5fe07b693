import { relationshipKey, type Relationship, type SubjectRef } from '../model/relationship.js';
import { filterMatcher, validateFilter } from './filter.js';
import { inner } from '../model/nested-map.js';
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
  /** Live and historical rows by resource type, relation and resource id. */
  readonly #byResource: Nested = new Map();
  /** Rows by resource type, relation, subject type and subject id. */
  readonly #bySubject = new Map<string, Nested>();
  /** Rows by resource type, for filters without ids. */
  readonly #byType = new Map<string, IndexedRow[]>();
  /** The live row of each relationship key. */
  readonly #live = new Map<string, IndexedRow>();

  /** The live (not deleted; perhaps expired) row of a relationship key. */
  live(key: string): IndexedRow | undefined {
    return this.#live.get(key);
  }

  /** How many rows are live (not deleted). */
  get liveCount(): number {
    return this.#live.size;
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
    nestedPush(this.#byResource, rel.resource.type, rel.relation, rel.resource.id, row);
    nestedPush(inner(this.#bySubject, rel.subject.type), rel.resource.type, rel.relation, rel.subject.id, row);
    push(this.#byType, rel.resource.type, row);
  }

  /**
   * The relationships matching a filter visible at revision `at` and not expired by the clock
   * `now` (ms; asked at most once, and only when a matching row expires at all); with `expired`,
   * those that have expired by then instead.
   */
  query(f: RelationshipFilter, at: number, clock: () => number, expired = false): Relationship[] {
    let read: number | null = null;
    const now = (): number => (read ??= clock());
    validateFilter(f);
    // The engine's reads name a resource type, relation and ids, then narrow by subject: those are
    // answered straight from the resource index, testing subjects in place (no predicate built).
    if (f.resourceIds && f.relation !== undefined) return this.#byResourceIds(f, at, now, expired);
    // Otherwise the index picks rows by some fields and a matcher checks the rest.
    let candidates: readonly IndexedRow[];
    let rest: RelationshipFilter;
    if (f.subjectIds && f.subjectType !== undefined && f.relation !== undefined) {
      candidates = gather(this.#bySubject.get(f.subjectType)?.get(f.resourceType)?.get(f.relation), f.subjectIds);
      rest = { ...f, subjectIds: undefined, relation: undefined };
    } else {
      candidates = this.#byType.get(f.resourceType) ?? [];
      rest = f;
    }
    const matches = needsMatcher(rest) ? filterMatcher(rest) : null;
    const out: Relationship[] = [];
    for (const row of candidates) {
      if (!visible(row, at, now, expired)) continue;
      if (!matches || matches(row.rel)) out.push(row.rel);
    }
    return out;
  }

  /** A read by resource ids and relation (`resourceIdPrefix` cannot come with ids). */
  #byResourceIds(f: RelationshipFilter, at: number, now: () => number, expired: boolean): Relationship[] {
    const out: Relationship[] = [];
    const byId = this.#byResource.get(f.resourceType)?.get(f.relation!);
    if (!byId) return out;
    const ids = f.resourceIds!;
    const narrow = f.subjectsAnyOf !== undefined || f.subjectType !== undefined || f.subjectIds !== undefined || f.subjectRelation !== undefined;
    // Long subject id lists are looked up in sets, built once by the matcher; short ones are searched in place.
    const long = (f.subjectIds?.length ?? 0) > 16 || (f.subjectsAnyOf?.some((m) => (m.ids?.length ?? 0) > 16) ?? false);
    const matches = long ? filterMatcher(f) : null;
    const take = (rows: readonly IndexedRow[] | undefined): void => {
      if (!rows) return;
      for (const row of rows) {
        if (!visible(row, at, now, expired)) continue;
        if (!narrow || (matches ? matches(row.rel) : subjectMatches(row.rel.subject, f))) out.push(row.rel);
      }
    };
    if (ids.length === 1) take(byId.get(ids[0]!));
    else for (const id of new Set(ids)) take(byId.get(id));
    return out;
  }

  /** Drops the rows `keep` refuses; returns how many versions went. */
  prune(keep: (row: IndexedRow) => boolean): number {
    const pruneNested = (index: Nested): void => {
      for (const [type, byRelation] of index) {
        for (const [relation, byId] of byRelation) {
          for (const [id, rows] of byId) {
            const kept = rows.filter(keep);
            if (kept.length) byId.set(id, kept);
            else byId.delete(id);
          }
          if (!byId.size) byRelation.delete(relation);
        }
        if (!byRelation.size) index.delete(type);
      }
    };
    pruneNested(this.#byResource);
    for (const [type, nested] of this.#bySubject) {
      pruneNested(nested);
      if (!nested.size) this.#bySubject.delete(type);
    }
    let removed = 0;
    for (const [key, rows] of this.#byType) {
      const kept = rows.filter(keep);
      removed += rows.length - kept.length;
      if (kept.length) this.#byType.set(key, kept);
      else this.#byType.delete(key);
    }
    for (const [key, row] of this.#live) if (!keep(row)) this.#live.delete(key);
    return removed;
  }
}

/** Rows by type, relation and id: three look-ups with strings already at hand, no key built per read. */
type Nested = Map<string, Map<string, Map<string, IndexedRow[]>>>;

function nestedPush(index: Nested, type: string, relation: string, id: string, row: IndexedRow): void {
  push(inner(inner(index, type), relation), id, row);
}

/** Does what is left of a filter, once the index has applied its part, still constrain rows? (The resource type is always applied.) */
function needsMatcher(f: RelationshipFilter): boolean {
  return (
    f.resourceIds !== undefined ||
    f.resourceIdPrefix !== undefined ||
    f.subjectType !== undefined ||
    f.subjectIds !== undefined ||
    f.subjectRelation !== undefined ||
    f.subjectsAnyOf !== undefined ||
    f.relation !== undefined
  );
}

/** Is a row's version visible at revision `at`, and (un)expired by the clock `now` as asked? */
function visible(row: IndexedRow, at: number, now: () => number, expired: boolean): boolean {
  if (row.created > at || row.deleted <= at) return false;
  const e = row.rel.expiresAt;
  return (e !== null && e.getTime() <= now()) === expired;
}

/** Does a subject meet a filter's subject fields (`subjectsAnyOf`, or type, ids and relation)? */
function subjectMatches(s: SubjectRef, f: RelationshipFilter): boolean {
  const any = f.subjectsAnyOf;
  if (!any) return subjectIs(s, f.subjectType, f.subjectIds, f.subjectRelation);
  for (const m of any) if (subjectIs(s, m.type, m.ids, m.relation)) return true;
  return false;
}

function subjectIs(s: SubjectRef, type: string | undefined, ids: readonly string[] | undefined, relation: string | undefined): boolean {
  return (type === undefined || s.type === type) && (relation === undefined || s.relation === relation) && (ids === undefined || ids.includes(s.id));
}

function push<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}

function gather(byId: Map<string, IndexedRow[]> | undefined, ids: readonly string[]): readonly IndexedRow[] {
  if (!byId) return [];
  if (ids.length === 1) return byId.get(ids[0]!) ?? [];
  const out: IndexedRow[] = [];
  for (const id of new Set(ids)) {
    const rows = byId.get(id);
    if (rows) for (const r of rows) out.push(r);
  }
  return out;
}
