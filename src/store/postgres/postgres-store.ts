import { randomUUID } from 'node:crypto';
import { sql, type Kysely, type RawBuilder, type SelectQueryBuilder, type Transaction } from 'kysely';
import { WardenError } from '../../errors/error-code.js';
import type { Relationship } from '../../model/relationship.js';
import type { StageRows } from './copy-staging.js';
import type { IndexChanges, TenantIndexes } from './tenant-indexes.js';
import { FILTER_COLUMN, snapshotStatement, snapshotStatements, type RawQuery } from './snapshot-query.js';
import { validateFilter } from '../filter.js';
import {
  alreadyExists,
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
  compareRevisions,
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
import { mapDriverError } from './driver-errors.js';
import type { Database, RelationshipsTable } from './tables.js';
import { takeWriteLock, type HeldLock, type LockLimits } from './write-lock.js';

/** Imports of at least this many relationships refresh the planner's statistics afterwards. */
const ANALYZE_AFTER = 10_000;

/** The revision the cursors of reads inside a write name: they page over live rows, not a snapshot. */
const LIVE = revisionOf(0);

/** A kysely handle on the datastore's database. */
export type Db = Kysely<Database>;
type Row = Pick<
  RelationshipsTable,
  'resource_type' | 'resource_id' | 'relation' | 'subject_type' | 'subject_id' | 'subject_relation' | 'caveat_name' | 'expires_at'
> & { caveat_context: unknown };

/** The columns a relationship is made of. */
export const REL_COLUMNS = [
  'resource_type',
  'resource_id',
  'relation',
  'subject_type',
  'subject_id',
  'subject_relation',
  'caveat_name',
  'caveat_context',
  'expires_at',
] as const;

/** Where the shared parts of a datastore live: the primary, an optional replica, the limits. */
export interface PostgresStoreContext {
  readonly db: Db;
  /** Snapshot reads go here when it has caught up with the revision read. */
  readonly replica: Db | null;
  readonly maxUpdates: number;
  /**
   * Rows one multi-row statement carries. PGlite needs it small: statements with thousands of
   * parameters leave its session in a broken transaction state.
   */
  readonly batchSize: number;
  /** The clock expiration is judged by; null for the database's own `now()`. */
  readonly clock: (() => Date) | null;
  /** How long a writer may wait for, and hold, the writer lock. */
  readonly locks: LockLimits;
  /**
   * Prepared-statement access to the primary and the replica (node-postgres), for snapshot reads;
   * null where the driver has none (PGlite), which reads through kysely.
   */
  readonly raw: { readonly primary: RawQuery; readonly replica: RawQuery | null } | null;
  /** Loads an import's rows into the staging table with COPY (node-postgres, or PGlite from a blob); null: multi-row INSERTs. */
  readonly stage: StageRows | null;
  /** The replica's head as last seen, so reads do not ask it every time. */
  readonly replicaHead: { value: bigint; at: number };
  /** The embedded store's in-memory copy of each tenant's relationships, read instead of SQL; null elsewhere. */
  readonly indexes: TenantIndexes | null;
}

/** A write that changes no relationship (a schema). */
const NO_CHANGES: IndexChanges = { ended: [], added: [] };

/** Rows one COPY into the import staging table carries. */
const STAGE_COPY_BATCH = 10_000;

/** How long the replica's last-seen head is trusted before it is asked again. */
const REPLICA_HEAD_MS = 100;

/**
 * One tenant's view of a Postgres (or PGlite) datastore. Every relationship row carries the
 * revision that created it and the one that deleted it, so a read at revision R sees exactly
 * the rows with created_rev <= R < deleted_rev. Writers serialize on an advisory lock and draw
 * their revision inside it, so revisions commit in order and no reader at R can miss a
 * transaction numbered R or lower.
 */
export class PostgresStore implements Store {
  readonly #ctx: PostgresStoreContext;
  readonly #tenant: string;

  constructor(ctx: PostgresStoreContext, tenant: string) {
    this.#ctx = ctx;
    this.#tenant = tenant;
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw mapDriverError(e);
    }
  }

  #now(): RawBuilder<Date> {
    const c = this.#ctx.clock;
    return c ? sql<Date>`${c()}::timestamptz` : sql<Date>`now()`;
  }

  async headRevision(): Promise<Revision> {
    return this.#run(async () => revisionOf(await head(this.#ctx.db)));
  }

  async revisionAt(time: Date): Promise<Revision> {
    return this.#run(async () => {
      const r = await sql<{ id: string }>`select coalesce(max(id), 0)::text as id from warden_transactions where created_at <= ${time}`.execute(this.#ctx.db);
      const at = r.rows[0]!.id;
      const wm = await watermark(this.#ctx.db);
      return revisionOf(BigInt(at) > BigInt(wm) ? at : wm);
    });
  }

  async checkRevision(revision: Revision): Promise<void> {
    parseRevision(revision);
    await this.#run(async () => {
      if (compareRevisions(revision, revisionOf(await head(this.#ctx.db))) > 0) {
        throw new WardenError('INVALID_ARGUMENT', `revision ${revision} is newer than this datastore's head`, { field: 'revision' });
      }
      if (compareRevisions(revision, revisionOf(await watermark(this.#ctx.db))) < 0) {
        throw new WardenError('FAILED_PRECONDITION', `revision ${revision} has been garbage-collected; read at a newer one`, { field: 'consistency' });
      }
    });
  }

  snapshot(revision: Revision): SnapshotReader {
    parseRevision(revision);
    const reader: SnapshotReader = {
      revision,
      query: (filter) => this.#run(() => this.#query(filter, revision)),
      queryExpired: (filter) => this.#run(() => this.#queryExpired(filter, revision)),
    };
    // The embedded store answers from its in-memory index where that holds the revision.
    if (this.#ctx.indexes) return { ...reader, querySync: (filter) => this.#indexed(filter, revision) };
    // PostgreSQL over the network: several reads in one round trip (PGlite reads memory, or runs in-process).
    if (!this.#ctx.raw) return reader;
    return { ...reader, queryMany: (filters) => this.#run(() => this.#queryMany(filters, revision)) };
  }

  /**
   * Whether the replica has caught up with the revision. Its head only moves forward, so a head
   * seen recently that covers the revision is trusted; otherwise the replica is asked again.
   */
  async #replicaServes(revision: Revision): Promise<boolean> {
    const replica = this.#ctx.replica;
    if (!replica) return false;
    const seen = this.#ctx.replicaHead;
    const wanted = BigInt(revision);
    if (seen.value >= wanted && Date.now() - seen.at < REPLICA_HEAD_MS) return true;
    try {
      seen.value = BigInt(await head(replica));
      seen.at = Date.now();
      return seen.value >= wanted;
    } catch {
      return false;
    }
  }

  /** A read answered from the embedded store's in-memory index, or undefined when the index does not hold the revision (yet). */
  #indexed(filter: RelationshipFilter, revision: Revision): Relationship[] | undefined {
    const idx = this.#ctx.indexes?.get(this.#tenant);
    if (!idx || Number(revision) > idx.applied) return undefined;
    this.#ctx.indexes!.reads++;
    const clock = this.#ctx.clock;
    return idx.rows.query(filter, Number(revision), clock ? () => clock().getTime() : Date.now);
  }

  async #query(filter: RelationshipFilter, revision: Revision): Promise<Relationship[]> {
    validateFilter(filter);
    const indexed = this.#indexed(filter, revision);
    if (indexed) return indexed;
    const onReplica = await this.#replicaServes(revision);
    const raw = this.#ctx.raw;
    if (raw) {
      const run = onReplica && raw.replica ? raw.replica : raw.primary;
      const rows = await run(snapshotStatement(this.#tenant, filter, revision, this.#ctx.clock?.() ?? null));
      return rows.map((r) => toRelationship(r as unknown as Row));
    }
    const db = onReplica ? this.#ctx.replica! : this.#ctx.db;
    const rows = await this.#visible(db, filter, revision).select(REL_COLUMNS).execute();
    return rows.map(toRelationship);
  }

  async #queryMany(filters: readonly RelationshipFilter[], revision: Revision): Promise<Relationship[][]> {
    for (const f of filters) validateFilter(f);
    if (filters.length === 1) return [await this.#query(filters[0]!, revision)];
    const raw = this.#ctx.raw!;
    const run = (await this.#replicaServes(revision)) && raw.replica ? raw.replica : raw.primary;
    const rows = await run(snapshotStatements(this.#tenant, filters, revision, this.#ctx.clock?.() ?? null));
    const out: Relationship[][] = filters.map(() => []);
    for (const r of rows) out[Number(r[FILTER_COLUMN])]!.push(toRelationship(r as unknown as Row));
    return out;
  }

  /** Rows matching a filter that are visible at a revision but have expired (explanations only: read on the primary, with kysely). */
  async #queryExpired(filter: RelationshipFilter, revision: Revision): Promise<Relationship[]> {
    validateFilter(filter);
    const rows = await applyFilter(this.#ctx.db.selectFrom('warden_relationships'), this.#tenant, filter)
      .where('created_rev', '<=', revision)
      .where((eb) => eb.or([eb('deleted_rev', 'is', null), eb('deleted_rev', '>', revision)]))
      .where('expires_at', '<=', this.#now())
      .select(REL_COLUMNS)
      .execute();
    return rows.map(toRelationship);
  }

  /** Rows matching a filter that are visible at a revision (and not expired). */
  #visible(db: Db | Transaction<Database>, filter: RelationshipFilter, revision: Revision): SelectQueryBuilder<Database, 'warden_relationships', object> {
    return applyFilter(db.selectFrom('warden_relationships'), this.#tenant, filter)
      .where('created_rev', '<=', revision)
      .where((eb) => eb.or([eb('deleted_rev', 'is', null), eb('deleted_rev', '>', revision)]))
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.#now())]));
  }

  /** Live rows (current, not expired) matching a filter. */
  #live(trx: Transaction<Database>, filter: RelationshipFilter): SelectQueryBuilder<Database, 'warden_relationships', object> {
    return applyFilter(trx.selectFrom('warden_relationships'), this.#tenant, filter)
      .where('deleted_rev', 'is', null)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.#now())]));
  }

  /**
   * Runs a write transaction holding the writer lock (bounded in wait and hold time), refusing it
   * if the tenant is gone, with a new revision recorded: `before` checks, `apply` changes.
   */
  async #write<T>(
    options: { metadata?: Readonly<Record<string, unknown>> | undefined; schemaChanged?: boolean },
    before: (trx: Transaction<Database>, lock: HeldLock) => Promise<void>,
    apply: (trx: Transaction<Database>, revision: Revision, lock: HeldLock) => Promise<T>,
    changes: IndexChanges = NO_CHANGES,
  ): Promise<T> {
    const indexes = this.#ctx.indexes;
    if (!indexes) return this.#transact(options, before, apply);
    // The embedded store: writes one at a time, each applied to the in-memory index once committed.
    return indexes.serialize(async () => {
      let revision: Revision | null = null;
      const result = await this.#transact(options, before, async (trx, rev, lock) => {
        revision = rev;
        return apply(trx, rev, lock);
      });
      indexes.apply(this.#tenant, Number(revision!), changes);
      // A tenant being written is about to be read: its index starts loading now (after this
      // write, in the background), not on the first read, which would then go to SQL meanwhile.
      indexes.get(this.#tenant);
      return result;
    });
  }

  async #transact<T>(
    options: { metadata?: Readonly<Record<string, unknown>> | undefined; schemaChanged?: boolean },
    before: (trx: Transaction<Database>, lock: HeldLock) => Promise<void>,
    apply: (trx: Transaction<Database>, revision: Revision, lock: HeldLock) => Promise<T>,
  ): Promise<T> {
    return this.#run(() =>
      this.#ctx.db.transaction().execute(async (trx) => {
        // Tenant deletion takes the same lock, so a write either commits before it (and is deleted with the tenant) or sees it.
        const lock = await takeWriteLock(trx, this.#ctx.locks, this.#tenant);
        if (!lock.tenantLive) throw tenantGone(this.#tenant);
        await before(trx, lock);
        lock.check();
        const tx = await trx
          .insertInto('warden_transactions')
          .values({ tenant: this.#tenant, metadata: options.metadata ? JSON.stringify(options.metadata) : null, schema_changed: options.schemaChanged ?? false })
          .returning(sql<string>`id::text`.as('id'))
          .executeTakeFirstOrThrow();
        return apply(trx, revisionOf(tx.id), lock);
      }),
    );
  }

  /** The newest schema version, read inside a write. */
  #currentSchema(trx: Transaction<Database>): Promise<StoredSchema | null> {
    return this.#schemaAsOf(trx, null);
  }

  /** The schema version in force at a revision (null: the newest). */
  async #schemaAsOf(db: Db | Transaction<Database>, revision: Revision | null): Promise<StoredSchema | null> {
    let q = db.selectFrom('warden_schemas').select(['text', sql<string>`revision::text`.as('rev')]).where('tenant', '=', this.#tenant);
    if (revision !== null) q = q.where('revision', '<=', revision);
    const row = await q.orderBy('revision', 'desc').limit(1).executeTakeFirst();
    return row ? { text: row.text, revision: revisionOf(row.rev) } : null;
  }

  /** Throws for the first precondition that does not hold among the live relationships, inside the write's transaction. */
  async #checkPreconditions(trx: Transaction<Database>, preconditions: readonly Precondition[], lock: HeldLock): Promise<void> {
    for (const [i, p] of preconditions.entries()) {
      lock.check();
      const found = await this.#live(trx, p.filter).select(sql`1`.as('one')).limit(1).executeTakeFirst();
      if ((found !== undefined) !== (p.operation === 'must_match')) throw preconditionFailed(i, p.operation);
    }
  }

  async #guard(trx: Transaction<Database>, guard: SchemaGuard | undefined): Promise<void> {
    if (guard) guard(await this.#currentSchema(trx));
  }

  async write(updates: readonly RelationshipUpdate[], options: WriteOptions = {}): Promise<Revision> {
    validateUpdates(updates, this.#ctx.maxUpdates, options.preconditions);
    return this.#write(
      options,
      async (trx, lock) => {
        await this.#guard(trx, options.guard);
        await this.#checkPreconditions(trx, options.preconditions ?? [], lock);
        const creates = updates.filter((u) => u.operation === 'create').map((u) => u.relationship);
        for (let i = 0; i < creates.length; i += this.#ctx.batchSize) {
          lock.check();
          const batch = creates.slice(i, i + this.#ctx.batchSize);
          const existing = await trx
            .selectFrom('warden_relationships')
            .select(REL_COLUMNS)
            .where('tenant', '=', this.#tenant)
            .where('deleted_rev', 'is', null)
            .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', this.#now())]))
            .where(keyIn(batch))
            .limit(1)
            .executeTakeFirst();
          if (existing) throw alreadyExists(toRelationship(existing));
        }
      },
      async (trx, revision, lock) => {
        await this.#end(trx, updates.map((u) => u.relationship), revision, lock);
        await this.#insert(
          trx,
          updates.filter((u) => u.operation !== 'delete').map((u) => u.relationship),
          revision,
          lock,
        );
        return revision;
      },
      { ended: updates.map((u) => u.relationship), added: updates.filter((u) => u.operation !== 'delete').map((u) => u.relationship) },
    );
  }

  /** Ends the live versions (expired or not) of these relationships at `revision`. */
  async #end(trx: Transaction<Database>, rels: readonly Relationship[], revision: Revision, lock: HeldLock): Promise<void> {
    for (let i = 0; i < rels.length; i += this.#ctx.batchSize) {
      lock.check();
      const batch = rels.slice(i, i + this.#ctx.batchSize);
      await trx
        .updateTable('warden_relationships')
        .set({ deleted_rev: revision })
        .where('tenant', '=', this.#tenant)
        .where('deleted_rev', 'is', null)
        .where(keyIn(batch))
        .execute();
    }
  }

  async #insert(trx: Transaction<Database>, rels: readonly Relationship[], revision: Revision, lock: HeldLock): Promise<void> {
    for (let i = 0; i < rels.length; i += this.#ctx.batchSize) {
      lock.check();
      const batch = rels.slice(i, i + this.#ctx.batchSize);
      await trx
        .insertInto('warden_relationships')
        .values(batch.map((r) => ({ tenant: this.#tenant, ...relationshipRow(r), created_rev: revision, deleted_rev: null })))
        .execute();
    }
  }

  async deleteByFilter(filter: RelationshipFilter, options: DeleteOptions = {}): Promise<DeleteResult> {
    validateFilter(filter);
    validateUpdates([], this.#ctx.maxUpdates, options.preconditions);
    if (options.limit !== undefined) validateLimit(options.limit);
    let victims: Relationship[] = [];
    let more = false;
    const changes: IndexChanges = { ended: [], added: [] };
    const revision = await this.#write(
      options,
      async (trx, lock) => {
        await this.#checkPreconditions(trx, options.preconditions ?? [], lock);
        let q = this.#live(trx, filter).select(REL_COLUMNS).orderBy(KEY_ORDER);
        if (options.limit !== undefined) q = q.limit(options.limit + 1);
        victims = (await q.execute()).map(toRelationship);
        if (options.limit !== undefined && victims.length > options.limit) {
          if (!options.allowPartial) throw tooManyToDelete(options.limit);
          more = true;
          victims = victims.slice(0, options.limit);
        }
      },
      async (trx, rev, lock) => {
        await this.#end(trx, victims, rev, lock);
        changes.ended.push(...victims);
        return rev;
      },
      changes,
    );
    return { revision, deleted: victims.length, more };
  }

  async readPage(revision: Revision, filter: RelationshipFilter, options: { limit: number; cursor?: string | null }): Promise<ReadPage> {
    validateFilter(filter);
    parseRevision(revision);
    return this.#run(async () => pageOf(this.#visible((await this.#replicaServes(revision)) ? this.#ctx.replica! : this.#ctx.db, filter, revision), revision, options));
  }

  async importRelationships(
    relationships: Iterable<Relationship> | AsyncIterable<Relationship>,
    options: { metadata?: Readonly<Record<string, unknown>>; guard?: SchemaGuard } = {},
  ): Promise<{ revision: Revision; count: number }> {
    // The stream is staged first, in short statements that hold no lock, so a slow client stalls
    // nobody; the writer lock is then held only for one set-based insert.
    const importId = randomUUID();
    const db = this.#ctx.db;
    let count = 0;
    try {
      let batch: Relationship[] = [];
      // Staged with COPY, in batches of 10,000 (node-postgres, PGlite); otherwise multi-row INSERTs.
      const stage = this.#ctx.stage;
      const batchSize = stage ? STAGE_COPY_BATCH : this.#ctx.batchSize;
      // The embedded store keeps what it imports, for its in-memory index.
      const kept: Relationship[] | null = this.#ctx.indexes ? [] : null;
      const flush = async (): Promise<void> => {
        if (!batch.length) return;
        const b = batch;
        if (kept) for (const r of b) kept.push(r);
        await this.#run(async () => {
          if (stage) await stage(importId, b);
          else await db.insertInto('warden_import_staging').values(b.map((r) => ({ import_id: importId, ...relationshipRow(r) }))).execute();
        });
        count += batch.length;
        batch = [];
      };
      for await (const r of relationships) {
        batch.push(r);
        if (batch.length >= batchSize) await flush();
      }
      await flush();
      const revision = await this.#write(
        options,
        (trx) => this.#guard(trx, options.guard),
        async (trx, rev, lock) => {
          // An expired live version of a staged key is ended first; a current one makes the insert fail (ALREADY_EXISTS).
          await sql`
            update warden_relationships r set deleted_rev = ${rev}
            from warden_import_staging s
            where s.import_id = ${importId} and r.tenant = ${this.#tenant} and r.deleted_rev is null and r.expires_at <= ${this.#now()}
              and (r.resource_type, r.resource_id, r.relation, r.subject_type, r.subject_id, r.subject_relation)
                = (s.resource_type, s.resource_id, s.relation, s.subject_type, s.subject_id, s.subject_relation)`.execute(trx);
          lock.check();
          await sql`
            insert into warden_relationships (tenant, ${sql.join(REL_COLUMNS.map((c) => sql.ref(c)))}, created_rev, deleted_rev)
            select ${this.#tenant}, ${sql.join(REL_COLUMNS.map((c) => sql.ref(c)))}, ${rev}, null
            from warden_import_staging where import_id = ${importId}`.execute(trx);
          return rev;
        },
        // Any live version of an imported key had expired (else the insert failed): it ends here.
        kept ? { ended: kept, added: kept } : NO_CHANGES,
      );
      // A bulk load changes the table's shape: without fresh statistics the planner scans
      // instead of using the indexes (a Check took 586 ms after a 1M import, 53 ms after ANALYZE).
      if (count >= ANALYZE_AFTER) await this.#run(() => sql`analyze warden_relationships`.execute(db));
      return { revision, count };
    } finally {
      await db.deleteFrom('warden_import_staging').where('import_id', '=', importId).execute().catch(() => {});
    }
  }

  async changes(after: Revision, options: { limit?: number } = {}): Promise<readonly ChangeSet[]> {
    await this.checkRevision(after);
    return this.#run(async () => {
      const db = this.#ctx.db;
      const txs = await db
        .selectFrom('warden_transactions')
        .select([sql<string>`id::text`.as('id'), 'created_at', 'metadata', 'schema_changed'])
        .where('tenant', '=', this.#tenant)
        .where('id', '>', after)
        .orderBy('id')
        .limit(options.limit ?? 100)
        .execute();
      if (!txs.length) return [];
      const ids = txs.map((t) => t.id);
      const rows = await db
        .selectFrom('warden_relationships')
        .select([...REL_COLUMNS, sql<string>`created_rev::text`.as('created'), sql<string | null>`deleted_rev::text`.as('deleted')])
        .where('tenant', '=', this.#tenant)
        .where((eb) => eb.or([eb('created_rev', 'in', ids), eb('deleted_rev', 'in', ids)]))
        .orderBy(KEY_ORDER)
        .execute();
      return txs.map((t) => ({
        revision: revisionOf(t.id),
        committedAt: new Date(t.created_at),
        metadata: (t.metadata as Record<string, unknown> | null) ?? null,
        schemaChanged: t.schema_changed,
        changes: composeChanges(
          rows.filter((r) => r.deleted === t.id).map(toRelationship),
          rows.filter((r) => r.created === t.id).map(toRelationship),
        ),
      }));
    });
  }

  async countRelationships(): Promise<number> {
    const row = await this.#run(() =>
      this.#ctx.db.selectFrom('warden_relationships').select(sql<string>`count(*)`.as('n')).where('tenant', '=', this.#tenant).where('deleted_rev', 'is', null).executeTakeFirstOrThrow(),
    );
    return Number(row.n);
  }

    async writeSchema(text: string, options: { guard?: SchemaChangeGuard } = {}): Promise<Revision> {
    const guard = options.guard;
    return this.#write(
      { schemaChanged: true },
      async (trx, lock) => {
        if (guard) await guard(await this.#currentSchema(trx), (filter, o) => this.#livePage(trx, filter, o, lock));
      },
      async (trx, revision) => {
        await trx.insertInto('warden_schemas').values({ tenant: this.#tenant, revision, text }).execute();
        return revision;
      },
    );
  }

  /** One page of the live relationships matching a filter, read inside a write, in key order. */
  async #livePage(trx: Transaction<Database>, filter: RelationshipFilter, options: { limit: number; cursor?: string | null }, lock: HeldLock): Promise<ReadPage> {
    validateFilter(filter);
    lock.check();
    return pageOf(this.#live(trx, filter), LIVE, options);
  }

  async readSchema(revision: Revision): Promise<{ text: string; revision: Revision } | null> {
    parseRevision(revision);
    return this.#run(() => this.#schemaAsOf(this.#ctx.db, revision));
  }

  async close(): Promise<void> {
    // The datastore owns the connections.
  }
}

/** Key order: the order reads page in. */
const KEY_ORDER = sql`resource_type, resource_id, relation, subject_type, subject_id, subject_relation`;

/** The head revision of a database: the newest committed transaction. */
export async function head(db: Db): Promise<string> {
  const r = await sql<{ id: string }>`select coalesce(max(id), 0)::text as id from warden_transactions`.execute(db);
  return r.rows[0]!.id;
}

/** The oldest revision still readable exactly. */
export async function watermark(db: Db): Promise<string> {
  const r = await db.selectFrom('warden_metadata').select('value').where('key', '=', 'gc_watermark').executeTakeFirst();
  return r?.value ?? '0';
}

function parseRevision(revision: Revision): void {
  if (!/^\d{1,19}$/.test(revision)) throw new WardenError('INVALID_ARGUMENT', `revision \`${revision}\` is not one of this datastore's`, { field: 'revision' });
}

function applyFilter<Q extends SelectQueryBuilder<Database, 'warden_relationships', object>>(q: Q, tenant: string, f: RelationshipFilter): Q {
  let out = q.where('tenant', '=', tenant).where('resource_type', '=', f.resourceType) as Q;
  if (f.resourceIds) out = out.where('resource_id', 'in', f.resourceIds) as Q;
  if (f.resourceIdPrefix !== undefined) out = out.where(sql<boolean>`starts_with(resource_id, ${f.resourceIdPrefix})`) as Q;
  if (f.relation !== undefined) out = out.where('relation', '=', f.relation) as Q;
  if (f.subjectType !== undefined) out = out.where('subject_type', '=', f.subjectType) as Q;
  if (f.subjectIds) out = out.where('subject_id', 'in', f.subjectIds) as Q;
  if (f.subjectRelation !== undefined) out = out.where('subject_relation', '=', f.subjectRelation) as Q;
  const any = f.subjectsAnyOf;
  if (any) {
    out = out.where((eb) =>
      eb.or(
        any.map((m) => {
          const parts = [eb('subject_type', '=', m.type)];
          if (m.ids) parts.push(eb('subject_id', 'in', m.ids));
          if (m.relation !== undefined) parts.push(eb('subject_relation', '=', m.relation));
          return eb.and(parts);
        }),
      ),
    ) as Q;
  }
  return out;
}

/** One page, in key order, of the rows a query selects, after a cursor issued at `revision`. */
async function pageOf(base: SelectQueryBuilder<Database, 'warden_relationships', object>, revision: Revision, options: { limit: number; cursor?: string | null }): Promise<ReadPage> {
  validateLimit(options.limit);
  const after = options.cursor ? decodeCursor(options.cursor, revision) : null;
  let q = base.select(REL_COLUMNS);
  if (after) q = q.where(sql<boolean>`(resource_type, resource_id, relation, subject_type, subject_id, subject_relation) > (${sql.join(after)})`);
  const rows = (await q.orderBy(KEY_ORDER).limit(options.limit + 1).execute()).map(toRelationship);
  const page = rows.slice(0, options.limit);
  return { relationships: page, cursor: rows.length > page.length ? encodeCursor(revision, sortKey(page[page.length - 1]!)) : null };
}

/** `(key columns) in ((...), (...))` for a batch of relationships. */
function keyIn(rels: readonly Relationship[]): RawBuilder<boolean> {
  const tuples = rels.map((r) => sql`(${sql.join(sortKey(r))})`);
  return sql<boolean>`(resource_type, resource_id, relation, subject_type, subject_id, subject_relation) in (${sql.join(tuples)})`;
}

/** The columns of a relationship row (without tenant and revisions). */
function relationshipRow(r: Relationship) {
  return {
    resource_type: r.resource.type,
    resource_id: r.resource.id,
    relation: r.relation,
    subject_type: r.subject.type,
    subject_id: r.subject.id,
    subject_relation: r.subject.relation,
    caveat_name: r.caveat?.name ?? null,
    caveat_context: r.caveat?.context ? JSON.stringify(r.caveat.context) : null,
    expires_at: r.expiresAt,
  };
}

/** A relationship from its row. */
export function toRelationship(row: Row): Relationship {
  const context = row.caveat_context as Record<string, unknown> | null;
  return {
    resource: { type: row.resource_type, id: row.resource_id },
    relation: row.relation,
    subject: { type: row.subject_type, id: row.subject_id, relation: row.subject_relation },
    caveat: row.caveat_name ? { name: row.caveat_name, context: context ?? null } : null,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
  };
}
