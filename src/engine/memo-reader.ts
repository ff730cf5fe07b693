import type { Relationship } from '../model/relationship.js';
import type { RelationshipFilter, SnapshotReader } from '../store/store.js';
import type { Maybe } from './maybe.js';
import { inner } from '../model/nested-map.js';

/** Reads one request's memo may hold; past that, reads go to the store unremembered. */
const MAX_MEMO_READS = 4096;

/**
 * Is a read worth remembering? Only reads of a relation with no subject filter repeat within a
 * request: an arrow's tupleset (`parent`) read for `parent->edit` and again for `parent->view`. A
 * read for one subject belongs to one subproblem, which the request's memo already computes
 * once; remembering it would only cost memory.
 */
function memoable(f: RelationshipFilter): boolean {
  return !(f.subjectType !== undefined || f.subjectIds || f.subjectRelation !== undefined || f.subjectsAnyOf || f.relation === undefined || f.resourceIdPrefix !== undefined);
}

/**
 * What a remembered read is found by in the map `#memoFor` gives: its id where it reads one id
 * (that map is the type's relation's: no key string is built), else a key naming the whole read.
 */
function rememberedBy(f: RelationshipFilter): string {
  const ids = f.resourceIds;
  return ids?.length === 1 ? ids[0]! : `${f.resourceType}#${f.relation}@${ids?.join('\u0000') ?? ''}`;
}

/** A filter less its resource ids (filters are built by one piece of code each, so their key order is stable). */
function shapeKey(f: RelationshipFilter): string {
  return JSON.stringify({ ...f, resourceIds: undefined });
}

/**
 * A snapshot reader that remembers, for one request, the tupleset reads it has made: the same
 * read asked again (an arrow's `parent` read for `parent->edit` and again for `parent->view`) is
 * answered from memory, and reads in flight are shared. A snapshot never changes, so nothing goes stale;
 * it is bounded in reads. Counts the reads that reached the store.
 */
export class MemoReader implements SnapshotReader {
  readonly #inner: SnapshotReader;
  readonly #counts: { reads: number };
  /** Remembered reads of several ids (or none), by `rememberedBy`. */
  #memo: Map<string, Maybe<readonly Relationship[]>> | null = null;
  /** Remembered reads of one id, by resource type, relation and id. */
  #memoOne: Map<string, Map<string, Map<string, Maybe<readonly Relationship[]>>>> | null = null;
  /** Reads made ahead in one round trip (`prefetch`): by the filter less its resource ids, the ids read and the rows. */
  #prefetched: Map<string, { ids: ReadonlySet<string>; rows: Promise<readonly Relationship[]> }> | null = null;
  /** The earliest expiration among the relationships read (ms), or null: the answer may change then. */
  earliestExpiry: number | null = null;

  /** `counts.reads` is incremented for every read that goes to the store. */
  constructor(inner: SnapshotReader, counts: { reads: number }) {
    this.#inner = inner;
    this.#counts = counts;
  }

  #note = (rels: readonly Relationship[]): readonly Relationship[] => {
    for (const r of rels) {
      if (r.expiresAt === null) continue;
      const at = r.expiresAt.getTime();
      if (this.earliestExpiry === null || at < this.earliestExpiry) this.earliestExpiry = at;
    }
    return rels;
  };

  get revision(): SnapshotReader['revision'] {
    return this.#inner.revision;
  }

  /** True when the store reads several filters in one round trip, so reading ahead with `prefetch` saves round trips. */
  get batches(): boolean {
    return this.#inner.queryMany !== undefined;
  }

  /**
   * Reads these filters now, in one round trip, for the request's later `query` calls to find
   * (a later read of the same filter, or of it for some of its ids, is answered from these rows).
   * Filters already read or read ahead are left out. Nothing happens when the store cannot batch.
   */
  prefetch(filters: readonly RelationshipFilter[]): void {
    const many = this.#inner.queryMany;
    if (!many) return;
    const prefetched = (this.#prefetched ??= new Map());
    const wanted: { filter: RelationshipFilter; key: string }[] = [];
    for (const f of filters) {
      if (!f.resourceIds || f.resourceIdPrefix !== undefined) continue;
      const key = shapeKey(f);
      const known = prefetched.get(key);
      if (known && f.resourceIds.every((id) => known.ids.has(id))) continue;
      if (memoable(f) && this.#memoFor(f).has(rememberedBy(f))) continue;
      if (!wanted.some((w) => w.key === key)) wanted.push({ filter: f, key });
    }
    if (!wanted.length || prefetched.size + wanted.length > MAX_MEMO_READS) return;
    this.#counts.reads++;
    const all = many(wanted.map((w) => w.filter));
    wanted.forEach(({ filter, key }, i) => {
      const rows = all.then((r) => this.#note(r[i]!));
      // A read ahead that nobody asks for again must not fail the process; those who ask get its error.
      rows.catch(() => {});
      prefetched.set(key, { ids: new Set(filter.resourceIds), rows });
    });
  }

  query(filter: RelationshipFilter): Promise<readonly Relationship[]> {
    const r = this.read(filter);
    return r instanceof Promise ? r : Promise.resolve(r);
  }

  /**
   * The same as `query`, but returned at once where the store answers from memory (`querySync`):
   * the engine's walk reads through this, so over such a store it runs without a promise a read.
   */
  read(filter: RelationshipFilter): Maybe<readonly Relationship[]> {
    if (this.#prefetched && filter.resourceIds && filter.resourceIdPrefix === undefined) {
      const ahead = this.#prefetched.get(shapeKey(filter));
      const ids = filter.resourceIds;
      if (ahead && ids.every((id) => ahead.ids.has(id))) {
        if (ids.length === ahead.ids.size) return ahead.rows;
        const want = new Set(ids);
        return ahead.rows.then((rows) => rows.filter((r) => want.has(r.resource.id)));
      }
    }
    if (!memoable(filter)) {
      this.#counts.reads++;
      return this.#fetch(filter);
    }
    const memo = this.#memoFor(filter);
    const key = rememberedBy(filter);
    const known = memo.get(key);
    if (known) return known;
    this.#counts.reads++;
    const rows = this.#fetch(filter);
    // A failed read fails its request, so a remembered failure is never served to anyone else.
    if (this.#remembered++ < MAX_MEMO_READS) memo.set(key, rows);
    return rows;
  }

  /** Reads remembered so far. */
  #remembered = 0;

  /** Where a remembered read is kept (see `rememberedBy`). */
  #memoFor(f: RelationshipFilter): Map<string, Maybe<readonly Relationship[]>> {
    if (f.resourceIds?.length !== 1) return (this.#memo ??= new Map());
    return inner(inner((this.#memoOne ??= new Map()), f.resourceType), f.relation!);
  }

  /** One read from the store: at once where it answers from memory. */
  #fetch(filter: RelationshipFilter): Maybe<readonly Relationship[]> {
    const now = this.#inner.querySync?.(filter);
    return now ? this.#note(now) : this.#inner.query(filter).then(this.#note);
  }
}
