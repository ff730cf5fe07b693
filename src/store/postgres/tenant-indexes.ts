import { sql } from 'kysely';
import { relationshipKey, type Relationship } from '../../model/relationship.js';
import { RowIndex } from '../row-index.js';
import { REL_COLUMNS, toRelationship, type Db } from './postgres-store.js';

/** A tenant's relationships held in memory, complete up to `applied`. */
export interface TenantIndex {
  readonly rows: RowIndex;
  /** Every change committed at or before this revision is in `rows`. */
  applied: number;
}

/** What one write changed: keys whose live version it ended, and versions it added. */
export interface IndexChanges {
  readonly ended: Relationship[];
  readonly added: Relationship[];
}

/**
 * TenantIndexes keeps, for the embedded store, each tenant's relationships in memory, versioned
 * like the table (RowIndex), so snapshot reads are answered without SQL. The database stays the
 * durable log and the source at start-up: a tenant's index is loaded from it on first read. Every
 * write of the datastore runs through `serialize`, one at a time, and applies its changes to the
 * index right after it commits, so an index is always complete up to `applied`; a read at a
 * newer revision (one that raced a commit) goes to SQL. One process owns an embedded store, so
 * its own writes are all there are.
 */
export class TenantIndexes {
  readonly #db: Db;
  readonly #indexes = new Map<string, TenantIndex>();
  readonly #loading = new Set<string>();
  /** Writes and loads, one at a time. */
  #queue: Promise<unknown> = Promise.resolve();

  constructor(db: Db) {
    this.#db = db;
  }

  /**
   * Runs a write of the datastore alone: no other write and no index load runs meanwhile. After
   * it, every loaded index is complete up to the head (the write applied its own changes).
   */
  serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(async () => {
      try {
        return await fn();
      } finally {
        if (this.#indexes.size) {
          const head = await this.#head().catch(() => null);
          if (head !== null) for (const idx of this.#indexes.values()) idx.applied = Math.max(idx.applied, head);
        }
      }
    });
    this.#queue = run.catch(() => {});
    return run;
  }

  /** Reads answered from memory. */
  reads = 0;

  /** Applies a committed write's changes to its tenant's index (if loaded); call inside `serialize`. */
  apply(tenant: string, revision: number, changes: IndexChanges): void {
    const idx = this.#indexes.get(tenant);
    if (!idx) return;
    for (const r of changes.ended) idx.rows.end(relationshipKey(r), revision);
    for (const r of changes.added) idx.rows.add(r, revision);
    idx.applied = Math.max(idx.applied, revision);
  }

  /** Drops the versions garbage collection removed: deleted at or before `watermark`, or expired before `horizonMs`. */
  prune(watermark: number, horizonMs: number): void {
    for (const idx of this.#indexes.values()) {
      idx.rows.prune((row) => !(row.deleted <= watermark || (row.rel.expiresAt !== null && row.rel.expiresAt.getTime() < horizonMs)));
    }
  }

  /** Forgets a tenant's index (its tenant was deleted). */
  drop(tenant: string): void {
    this.#indexes.delete(tenant);
  }

  /**
   * The tenant's index, or null when it is not loaded yet (its load is then started, in the
   * background: a read never waits behind the writes queued before the load) or the tenant is
   * absent or being deleted.
   */
  get(tenant: string): TenantIndex | null {
    const known = this.#indexes.get(tenant);
    if (known) return known;
    if (!this.#loading.has(tenant)) {
      this.#loading.add(tenant);
      this.#load(tenant)
        .catch(() => {})
        .finally(() => this.#loading.delete(tenant));
    }
    return null;
  }

  /** Loads a tenant's index, between writes. */
  #load(tenant: string): Promise<void> {
    return this.serialize(async () => {
      if (this.#indexes.has(tenant)) return;
      const live = await this.#db.selectFrom('warden_tenants').select('name').where('name', '=', tenant).where('deleting', '=', false).executeTakeFirst();
      if (!live) return;
      const head = await this.#head();
      const rows = await this.#db
        .selectFrom('warden_relationships')
        .select([...REL_COLUMNS, sql<string>`created_rev::text`.as('created'), sql<string | null>`deleted_rev::text`.as('deleted')])
        .where('tenant', '=', tenant)
        .execute();
      const index = new RowIndex();
      // Oldest first, so a key's live version is the last one added.
      rows.sort((a, b) => Number(a.created) - Number(b.created));
      for (const r of rows) index.add(toRelationship(r), Number(r.created), r.deleted === null ? Infinity : Number(r.deleted));
      this.#indexes.set(tenant, { rows: index, applied: head });
    });
  }

  /** Whether a tenant's index is loaded (for tests). */
  has(tenant: string): boolean {
    return this.#indexes.has(tenant);
  }

  async #head(): Promise<number> {
    const r = await sql<{ id: string }>`select coalesce(max(id), 0)::text as id from warden_transactions`.execute(this.#db);
    return Number(r.rows[0]!.id);
  }
}
