import { WardenError } from '../../errors/error-code.js';
import { relationshipKey, type Relationship } from '../../model/relationship.js';
import { filterMatcher, validateFilter } from '../filter.js';
import { RowIndex, type IndexedRow } from '../row-index.js';
import {
  alreadyExists,
  compareSortKeys,
  composeChanges,
  decodeCursor,
  encodeCursor,
  preconditionFailed,
  sortKey,
  tenantGone,
  tooManyToDelete,
  validateLimit,
  validateUpdates,
} from '../store-support.js';
import {
  DEFAULT_MAX_UPDATES,
  revisionOf,
  type ChangeSet,
  type DeleteOptions,
  type DeleteResult,
  type Precondition,
  type ReadPage,
  type RelationshipFilter,
  type RelationshipUpdate,
  type Revision,
  type SchemaChangeGuard,
  type SchemaGuard,
  type SnapshotReader,
  type Store,
  type StoredSchema,
  type WriteOptions,
} from '../store.js';

type Row = IndexedRow;

/** A committed transaction, for revisionAt and the changelog. */
interface Transaction {
  readonly revision: number;
  readonly at: Date;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  schemaChanged: boolean;
}

/** Clock the store judges expiration by; tests may pass their own. */
export type Clock = () => Date;

/** The revision counter; stores of one datastore share it, so revisions are datastore-wide. */
export interface RevisionCounter {
  head: number;
}

/**
 * MemoryStore keeps every version of every relationship in memory, indexed by resource and by
 * subject, so reads at any past revision are exact snapshots. For tests and `warden validate`.
 */
export class MemoryStore implements Store {
  readonly #counter: RevisionCounter;
  #watermark = 0;
  readonly #clock: Clock;
  /** The clock in ms (every read asks it: without a test clock, no Date is made). */
  readonly #now: () => number;
  readonly #maxUpdates: number;
  /** Every version of every relationship. */
  readonly #rows = new RowIndex();
  readonly #schemas: { revision: number; text: string }[] = [];
  readonly #transactions: Transaction[] = [];
  readonly #tenant: string;
  readonly #alive: () => boolean;
  /** Writers run one at a time (a schema change awaits its orphan check), like the SQL stores' writer lock. */
  #serial: Promise<unknown> = Promise.resolve();

  constructor(options: { clock?: Clock; maxUpdates?: number; counter?: RevisionCounter; tenant?: string; alive?: () => boolean } = {}) {
    this.#counter = options.counter ?? { head: 0 };
    this.#clock = options.clock ?? (() => new Date());
    const clock = options.clock;
    this.#now = clock ? () => clock().getTime() : Date.now;
    this.#maxUpdates = options.maxUpdates ?? DEFAULT_MAX_UPDATES;
    this.#tenant = options.tenant ?? 'default';
    this.#alive = options.alive ?? (() => true);
  }

  /** Runs a mutation after the ones before it, failing it if the tenant is gone. */
  #exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.#serial.then(async () => {
      if (!this.#alive()) throw tenantGone(this.#tenant);
      return fn();
    });
    this.#serial = run.catch(() => {});
    return run;
  }

  /** The newest schema version, as a write's guard sees it. */
  #currentSchema(): StoredSchema | null {
    const s = this.#schemas[this.#schemas.length - 1];
    return s ? { text: s.text, revision: revisionOf(s.revision) } : null;
  }

  async headRevision(): Promise<Revision> {
    return revisionOf(this.#counter.head);
  }

  async revisionAt(time: Date): Promise<Revision> {
    let rev = this.#watermark;
    for (const t of this.#transactions) if (t.at.getTime() <= time.getTime()) rev = Math.max(rev, t.revision);
    return revisionOf(rev);
  }

  async checkRevision(revision: Revision): Promise<void> {
    const n = this.#parse(revision);
    if (n < this.#watermark) {
      throw new WardenError('FAILED_PRECONDITION', `revision ${revision} has been garbage-collected; read at a newer one`, { field: 'consistency' });
    }
  }

  snapshot(revision: Revision): SnapshotReader {
    const at = this.#parse(revision);
    return {
      revision,
      query: async (filter) => this.#query(filter, at),
      querySync: (filter) => this.#query(filter, at),
      queryExpired: async (filter) => this.#rows.query(filter, at, this.#now, true),
    };
  }

  #parse(revision: Revision): number {
    const n = /^\d+$/.test(revision) ? Number(revision) : NaN;
    if (!Number.isSafeInteger(n) || n > this.#counter.head) {
      throw new WardenError('INVALID_ARGUMENT', `revision \`${revision}\` is not one of this store's`, { field: 'revision' });
    }
    return n;
  }

  #isLive(row: Row, now: number): boolean {
    return row.deleted === Infinity && !(row.rel.expiresAt && row.rel.expiresAt.getTime() <= now);
  }

  #commit(options: { metadata?: Readonly<Record<string, unknown>> | undefined; schemaChanged?: boolean }): number {
    const rev = ++this.#counter.head;
    this.#transactions.push({ revision: rev, at: this.#clock(), metadata: options.metadata ?? null, schemaChanged: options.schemaChanged ?? false });
    return rev;
  }

  async write(updates: readonly RelationshipUpdate[], options: WriteOptions = {}): Promise<Revision> {
    validateUpdates(updates, this.#maxUpdates, options.preconditions);
    return this.#exclusive(() => this.#write(updates, options));
  }

  #write(updates: readonly RelationshipUpdate[], options: WriteOptions): Revision {
    options.guard?.(this.#currentSchema());
    const now = this.#now();
    this.#checkPreconditions(options.preconditions ?? [], now);
    for (const u of updates) {
      const old = this.#rows.live(relationshipKey(u.relationship));
      if (u.operation === 'create' && old && this.#isLive(old, now)) throw alreadyExists(u.relationship);
    }
    // Every check passed, so applying cannot fail half way.
    const rev = this.#commit(options);
    for (const u of updates) {
      const key = relationshipKey(u.relationship);
      this.#remove(key, rev);
      if (u.operation !== 'delete') this.#insert(u.relationship, rev);
    }
    return revisionOf(rev);
  }

  #remove(key: string, rev: number): void {
    this.#rows.end(key, rev);
  }

  #insert(rel: Relationship, rev: number): void {
    this.#rows.add(rel, rev);
  }

  async deleteByFilter(filter: RelationshipFilter, options: DeleteOptions = {}): Promise<DeleteResult> {
    validateFilter(filter);
    validateUpdates([], this.#maxUpdates, options.preconditions);
    return this.#exclusive(() => {
      this.#checkPreconditions(options.preconditions ?? [], this.#now());
      const rows = this.#liveRows(filter);
      const limit = options.limit ?? Infinity;
      if (rows.length > limit && !options.allowPartial) throw tooManyToDelete(limit);
      const chosen = rows.slice(0, limit);
      const rev = this.#commit(options);
      for (const row of chosen) this.#remove(relationshipKey(row.rel), rev);
      return { revision: revisionOf(rev), deleted: chosen.length, more: rows.length > chosen.length };
    });
  }

  /** Throws for the first precondition that does not hold among the live relationships. */
  #checkPreconditions(preconditions: readonly Precondition[], now: number): void {
    preconditions.forEach((p, i) => {
      const matches = filterMatcher(p.filter);
      const found = [...this.#rows.liveRows()].some((row) => this.#isLive(row, now) && matches(row.rel));
      if (found !== (p.operation === 'must_match')) throw preconditionFailed(i, p.operation);
    });
  }

  /** The live rows matching a filter, in key order. */
  #liveRows(filter: RelationshipFilter): Row[] {
    const now = this.#now();
    const matches = filterMatcher(filter);
    const rows = [...this.#rows.liveRows()].filter((row) => this.#isLive(row, now) && matches(row.rel));
    return rows.sort((a, b) => compareSortKeys(sortKey(a.rel), sortKey(b.rel)));
  }

  async readPage(revision: Revision, filter: RelationshipFilter, options: { limit: number; cursor?: string | null }): Promise<ReadPage> {
    const all = this.#query(filter, this.#parse(revision)).sort((a, b) => compareSortKeys(sortKey(a), sortKey(b)));
    return pageOf(all, revision, options);
  }

  async importRelationships(
    relationships: Iterable<Relationship> | AsyncIterable<Relationship>,
    options: { metadata?: Readonly<Record<string, unknown>>; guard?: SchemaGuard } = {},
  ): Promise<{ revision: Revision; count: number }> {
    // Staged first: the stream is read outside the serialization, so a slow client blocks no writer.
    const batch: Relationship[] = [];
    const seen = new Set<string>();
    for await (const r of relationships) {
      const key = relationshipKey(r);
      if (seen.has(key)) throw alreadyExists(r);
      seen.add(key);
      batch.push(r);
    }
    return this.#exclusive(() => {
      options.guard?.(this.#currentSchema());
      const now = this.#now();
      for (const r of batch) {
        const old = this.#rows.live(relationshipKey(r));
        if (old && this.#isLive(old, now)) throw alreadyExists(r);
      }
      const rev = this.#commit(options);
      for (const r of batch) {
        const key = relationshipKey(r);
        this.#remove(key, rev);
        this.#insert(r, rev);
      }
      return { revision: revisionOf(rev), count: batch.length };
    });
  }

  async changes(after: Revision, options: { limit?: number } = {}): Promise<readonly ChangeSet[]> {
    const from = this.#parse(after);
    const txs = this.#transactions.filter((t) => t.revision > from).slice(0, options.limit ?? 100);
    const wanted = new Set(txs.map((t) => t.revision));
    const created = new Map<number, Row[]>();
    const deleted = new Map<number, Row[]>();
    for (const row of this.#rows.allRows()) {
      if (wanted.has(row.created)) add(created, row.created, row);
      if (wanted.has(row.deleted)) add(deleted, row.deleted, row);
    }
    return txs.map((t) => ({
      revision: revisionOf(t.revision),
      committedAt: t.at,
      metadata: t.metadata,
      schemaChanged: t.schemaChanged,
      changes: composeChanges(
        (deleted.get(t.revision) ?? []).map((r) => r.rel),
        (created.get(t.revision) ?? []).map((r) => r.rel),
      ),
    }));
  }

  async writeSchema(text: string, options: { guard?: SchemaChangeGuard } = {}): Promise<Revision> {
    return this.#exclusive(async () => {
      // Other tenants may commit while the guard reads (the counter is shared): cursors name the head seen first.
      const at = revisionOf(this.#counter.head);
      await options.guard?.(this.#currentSchema(), async (filter, o) => pageOf(this.#liveRows(filter).map((r) => r.rel), at, o));
      const rev = this.#commit({ schemaChanged: true });
      this.#schemas.push({ revision: rev, text });
      return revisionOf(rev);
    });
  }

  async readSchema(revision: Revision): Promise<{ text: string; revision: Revision } | null> {
    const at = this.#parse(revision);
    let found: { text: string; revision: Revision } | null = null;
    for (const s of this.#schemas) if (s.revision <= at) found = { text: s.text, revision: revisionOf(s.revision) };
    return found;
  }

  /**
   * Drops what no read can need any more: versions deleted, and relationships expired, before the
   * newest revision older than `windowMs`. Revisions before that one can no longer be read exactly.
   */
  async gc(options: { windowMs: number }): Promise<{ removed: number; watermark: Revision }> {
    const horizon = this.#now() - options.windowMs;
    const watermark = Number(await this.revisionAt(new Date(horizon)));
    const removed = this.#rows.prune((row) => !(row.deleted <= watermark || (row.rel.expiresAt !== null && row.rel.expiresAt.getTime() < horizon)));
    this.#watermark = Math.max(this.#watermark, watermark);
    return { removed, watermark: revisionOf(this.#watermark) };
  }

  async countRelationships(): Promise<number> {
    return this.#rows.liveCount;
  }

  async close(): Promise<void> {}

  #query(f: RelationshipFilter, at: number): Relationship[] {
    return this.#rows.query(f, at, this.#now);
  }
}

/** One page of relationships already in key order, after a cursor issued at `revision`. */
function pageOf(sorted: readonly Relationship[], revision: Revision, options: { limit: number; cursor?: string | null }): ReadPage {
  validateLimit(options.limit);
  const after = options.cursor ? decodeCursor(options.cursor, revision) : null;
  const rest = after ? sorted.filter((r) => compareSortKeys(sortKey(r), after) > 0) : sorted;
  const page = rest.slice(0, options.limit);
  return { relationships: page, cursor: rest.length > page.length ? encodeCursor(revision, sortKey(page[page.length - 1]!)) : null };
}

function add<K, V>(m: Map<K, V[]>, key: K, v: V): void {
  const list = m.get(key);
  if (list) list.push(v);
  else m.set(key, [v]);
}
