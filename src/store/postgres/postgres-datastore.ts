import { PostgresAuditLog } from './postgres-audit.js';
import { PostgresSigningKeys } from './postgres-signing-keys.js';
import { mkdirSync } from 'node:fs';
import { Kysely, Migrator, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { WardenError } from '../../errors/error-code.js';
import { AccessFeed } from '../access-feed.js';
import { listenForAccessChanges } from './access-listener.js';
import { revisionOf, DEFAULT_MAX_UPDATES } from '../store.js';
import type { Datastore, GcResult } from '../datastore.js';
import { lockDirectory } from './dir-lock.js';
import { mapDriverError } from './driver-errors.js';
import { MIGRATION_LOCK_TABLE, MIGRATION_TABLE, migrationProvider } from './migrations.js';
import { PostgresAccess } from './postgres-access.js';
import { PostgresStore, type PostgresStoreContext } from './postgres-store.js';
import type { RawQuery } from './snapshot-query.js';
import { copyStaging, pgliteStaging } from './copy-staging.js';
import { TenantIndexes } from './tenant-indexes.js';
import { holdsDatabase, pgliteTemplate } from './pglite-template.js';
import type { Database } from './tables.js';
import { DEFAULT_LOCK_LIMITS, sessionOptions, sessionSettings, type LockLimits } from './write-lock.js';

/** Options shared by the Postgres and PGlite datastores. */
export interface PostgresDatastoreOptions {
  /** Most updates one write may carry (default 1,000). */
  readonly maxUpdates?: number;
  /** The clock expiration is judged by; the database's `now()` when absent. */
  readonly clock?: () => Date;
  /** How long a writer may wait for, and hold, the writer lock (default 30 s each). */
  readonly locks?: Partial<LockLimits>;
}

// bigint (int8) columns come back as text; revisions are decimal strings throughout.
pg.types.setTypeParser(pg.types.builtins.INT8, (v) => v);

/**
 * A datastore on PostgreSQL (through pg) or PGlite (Postgres in WASM, in-process): the same SQL
 * for both. Snapshot reads may go to a read replica when it has caught up.
 */
export class PostgresDatastore implements Datastore {
  #id = '';
  readonly #db: Kysely<Database>;
  readonly #replica: Kysely<Database> | null;
  readonly #ctx: PostgresStoreContext;
  readonly access: PostgresAccess;
  readonly audit: PostgresAuditLog;
  readonly signingKeys: PostgresSigningKeys;
  #release: (() => void) | null = null;

  readonly #feed: AccessFeed;

  private constructor(
    db: Kysely<Database>,
    replica: Kysely<Database> | null,
    options: PostgresDatastoreOptions,
    batchSize: number,
    feed: AccessFeed,
    raw: PostgresStoreContext['raw'] = null,
    indexes: TenantIndexes | null = null,
    stage: PostgresStoreContext['stage'] = null,
  ) {
    this.#db = db;
    this.#replica = replica;
    const locks = { ...DEFAULT_LOCK_LIMITS, ...options.locks };
    this.#ctx = { db, replica, maxUpdates: options.maxUpdates ?? DEFAULT_MAX_UPDATES, clock: options.clock ?? null, batchSize, locks, raw, replicaHead: { value: -1n, at: 0 }, indexes, stage };
    this.#feed = feed;
    this.access = new PostgresAccess(db, locks, feed, indexes ? (fn) => indexes.serialize(fn) : undefined);
    this.audit = new PostgresAuditLog(db);
    this.signingKeys = new PostgresSigningKeys(db);
    // A deleted tenant's index goes with it; a tenant made again under its name loads afresh.
    if (indexes) feed.subscribe((c) => c.kind === 'tenant-deleted' && indexes.drop(c.tenant));
  }

  /** Connects to PostgreSQL at `url`, and to an optional read replica. */
  static postgres(url: string, options: PostgresDatastoreOptions & { readReplicaUrl?: string; poolSize?: number } = {}): PostgresDatastore {
    const locks = { ...DEFAULT_LOCK_LIMITS, ...options.locks };
    const pool = (u: string): pg.Pool => {
      // The session's lock wait bound is set as the connection opens (a startup option), not by a
      // query racing the connection's first one.
      const p = new pg.Pool({ connectionString: u, max: options.poolSize ?? 10, connectionTimeoutMillis: 5000, idleTimeoutMillis: 30_000, options: sessionOptions(locks) });
      // A client losing its server must not crash the process: its query fails (UNAVAILABLE),
      // the pool drops it, and the next query connects afresh.
      p.on('error', () => {});
      p.on('connect', (client) => void client.on('error', () => {}));
      return p;
    };
    const primaryPool = pool(url);
    const replicaPool = options.readReplicaUrl ? pool(options.readReplicaUrl) : null;
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: primaryPool }) });
    const replica = replicaPool ? new Kysely<Database>({ dialect: new PostgresDialect({ pool: replicaPool }) }) : null;
    // Snapshot reads, the hot path, go to the driver as prepared statements: no query builder, no re-planning.
    const rawOf = (p: pg.Pool): RawQuery => async (s) => (await p.query<Record<string, unknown>>({ name: s.name, text: s.text, values: s.values })).rows;
    const raw = { primary: rawOf(primaryPool), replica: replicaPool ? rawOf(replicaPool) : null };
    // Other servers on the same database revoke keys and delete tenants too: hear of it at once.
    const feed: AccessFeed = new AccessFeed(() => listenForAccessChanges(url, feed));
    const ds = new PostgresDatastore(db, replica, options, 1000, feed, raw, null, copyStaging(primaryPool));
    const pools = [['primary', primaryPool], ...(replicaPool ? [['replica', replicaPool] as const] : [])] as const;
    ds.#pools = () => pools.map(([name, p]) => ({ pool: name, total: p.totalCount, idle: p.idleCount, waiting: p.waitingCount }));
    return ds;
  }

  #pools: (() => readonly { pool: string; total: number; idle: number; waiting: number }[]) | null = null;

  /** Connections of the primary's pool and the replica's (PostgreSQL; empty on PGlite, which has none). */
  poolStats(): readonly { pool: string; total: number; idle: number; waiting: number }[] {
    return this.#pools?.() ?? [];
  }

  /** Opens (creating if needed) an embedded PGlite database in `dir`, or in memory for `memory://`. */
  static async pglite(dir: string, options: PostgresDatastoreOptions = {}): Promise<PostgresDatastore> {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGliteDialect } = await import('./pglite-dialect.js');
    const inMemory = dir === 'memory://';
    if (!inMemory) mkdirSync(dir, { recursive: true });
    const release = inMemory ? () => {} : lockDirectory(dir);
    try {
      // A new database starts from the build's template where there is one (no initdb in WASM).
      const template = inMemory || !holdsDatabase(dir) ? pgliteTemplate() : null;
      const init: { loadDataDir?: Blob } = template ? { loadDataDir: template } : {};
      const client = inMemory ? new PGlite(init) : new PGlite(dir, init);
      await client.waitReady;
      await client.exec(sessionSettings({ ...DEFAULT_LOCK_LIMITS, ...options.locks }));
      // One process owns the directory (the lock), so this process's own changes are all there are.
      // And so its relationships can be read from memory, kept in step with every write it commits.
      const db = new Kysely<Database>({ dialect: new PGliteDialect(client) });
      const ds = new PostgresDatastore(db, null, options, 200, new AccessFeed(), null, new TenantIndexes(db), pgliteStaging(client));
      ds.#release = release;
      return ds;
    } catch (e) {
      release();
      throw e;
    }
  }

  warm(): void {
    const indexes = this.#ctx.indexes;
    if (!indexes) return;
    void this.#ctx.db
      .selectFrom('warden_tenants')
      .select('name')
      .where('deleting', '=', false)
      .execute()
      .then((tenants) => tenants.forEach((t) => indexes.get(t.name)))
      .catch(() => {});
  }

  /** The embedded store's in-memory index: whether a tenant's is loaded, and reads it answered (null elsewhere). */
  get memoryIndex(): { loaded(tenant: string): boolean; readonly reads: number } | null {
    const indexes = this.#ctx.indexes;
    return indexes ? { loaded: (tenant) => indexes.has(tenant), get reads() { return indexes.reads; } } : null;
  }

  get id(): string {
    if (!this.#id) throw new WardenError('FAILED_PRECONDITION', 'the datastore is not open: call assertMigrated() or migrate() first');
    return this.#id;
  }

  store(tenant: string): PostgresStore {
    return new PostgresStore(this.#ctx, tenant);
  }

  #migrator(): Migrator {
    return new Migrator({ db: this.#db, provider: migrationProvider, migrationTableName: MIGRATION_TABLE, migrationLockTableName: MIGRATION_LOCK_TABLE });
  }

  async migrate(): Promise<void> {
    const { error } = await this.#migrator().migrateToLatest();
    if (error) throw mapDriverError(error);
    await this.#loadId();
  }

  async assertMigrated(): Promise<void> {
    let migrations;
    try {
      migrations = await this.#migrator().getMigrations();
    } catch (e) {
      throw mapDriverError(e);
    }
    const pending = migrations.filter((m) => !m.executedAt);
    if (pending.length) {
      throw new WardenError('FAILED_PRECONDITION', `the database is not migrated (${pending.length} migrations pending): run \`warden migrate\` first`);
    }
    const known = new Set(migrations.map((m) => m.name));
    let applied: { name: string }[] = [];
    try {
      applied = (await sql<{ name: string }>`select name from ${sql.table(MIGRATION_TABLE)}`.execute(this.#db)).rows;
    } catch (e) {
      throw mapDriverError(e);
    }
    const unknown = applied.filter((m) => !known.has(m.name));
    if (unknown.length) {
      throw new WardenError(
        'FAILED_PRECONDITION',
        `the database was migrated by a newer Warden (unknown migrations: ${unknown.map((m) => m.name).join(', ')}); upgrade Warden`,
      );
    }
    await this.#loadId();
  }

  async #loadId(): Promise<void> {
    try {
      const r = await this.#db.selectFrom('warden_metadata').select('value').where('key', '=', 'datastore_id').executeTakeFirstOrThrow();
      this.#id = r.value;
    } catch (e) {
      throw mapDriverError(e);
    }
  }

  async gc(options: { windowMs: number; batchSize?: number }): Promise<GcResult> {
    const batch = options.batchSize ?? 1000;
    try {
      const wm = await sql<{ id: string }>`
        select coalesce(max(id), 0)::text as id from warden_transactions
        where created_at < clock_timestamp() - ${`${options.windowMs} milliseconds`}::interval`.execute(this.#db);
      const watermark = wm.rows[0]!.id;
      let removed = 0;
      for (;;) {
        const r = await sql`
          delete from warden_relationships where ctid in (
            select ctid from warden_relationships
            where (deleted_rev is not null and deleted_rev <= ${watermark})
               or (expires_at is not null and expires_at < clock_timestamp() - ${`${options.windowMs} milliseconds`}::interval)
            limit ${batch})`.execute(this.#db);
        const n = Number(r.numAffectedRows ?? 0n);
        removed += n;
        if (n < batch) break;
      }
      // Schema versions superseded before the watermark, and the transactions before it.
      await sql`
        delete from warden_schemas s where s.revision < (
          select max(revision) from warden_schemas k where k.tenant = s.tenant and k.revision <= ${watermark})`.execute(this.#db);
      for (;;) {
        const r = await sql`
          delete from warden_transactions where id in (select id from warden_transactions where id < ${watermark} limit ${batch})`.execute(this.#db);
        if (Number(r.numAffectedRows ?? 0n) < batch) break;
      }
      // Rows staged by imports that never finished (a crashed server): no import runs for an hour.
      await sql`delete from warden_import_staging where staged_at < clock_timestamp() - interval '1 hour'`.execute(this.#db);
      const now = await sql<{ value: string }>`
        update warden_metadata set value = greatest(value::bigint, ${watermark}::bigint)::text
        where key = 'gc_watermark' returning value`.execute(this.#db);
      // The in-memory indexes drop the same versions, so they do not grow with history.
      this.#ctx.indexes?.prune(Number(watermark), Date.now() - options.windowMs);
      return { removed, watermark: revisionOf(now.rows[0]!.value) };
    } catch (e) {
      throw mapDriverError(e);
    }
  }

  async close(): Promise<void> {
    this.#feed.close();
    try {
      await this.#db.destroy();
      await this.#replica?.destroy();
    } finally {
      this.#release?.();
      this.#release = null;
    }
  }
}
