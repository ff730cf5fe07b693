import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import { WardenError } from '../../errors/error-code.js';
import type { AccessChange, AccessFeed } from '../access-feed.js';
import { validateTenantName, type AccessStore, type ApiKeyInfo, type KeyScope, type TenantInfo, type TenantSettings } from '../access.js';
import { ACCESS_CHANNEL } from './access-listener.js';
import { mapDriverError } from './driver-errors.js';
import type { ApiKeysTable, Database } from './tables.js';
import { takeWriteLock, type LockLimits } from './write-lock.js';

/** Rows a tenant deletion removes per statement, outside the writer lock. */
const DELETE_BATCH = 10_000;

/** The transactions row a tenant deletion records (under no tenant), so the head revision never goes back. */
const SYSTEM_TENANT = '';

/** Tenants and API keys in PostgreSQL or PGlite. */
export class PostgresAccess implements AccessStore {
  readonly #db: Kysely<Database>;
  readonly #locks: LockLimits;
  readonly feed: AccessFeed;

  readonly #serialize: <T>(fn: () => Promise<T>) => Promise<T>;

  /** `serialize` runs a revision-making change among the store's writes (the embedded store's in-memory index needs them in order). */
  constructor(db: Kysely<Database>, locks: LockLimits, feed: AccessFeed, serialize: <T>(fn: () => Promise<T>) => Promise<T> = (fn) => fn()) {
    this.#db = db;
    this.#locks = locks;
    this.feed = feed;
    this.#serialize = serialize;
  }

  /** Announces a change to other processes when the transaction commits. */
  async #notify(trx: Transaction<Database>, change: AccessChange): Promise<void> {
    await sql`select pg_notify(${ACCESS_CHANNEL}, ${JSON.stringify(change)})`.execute(trx);
  }

  async #run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw mapDriverError(e);
    }
  }

  async createTenant(name: string): Promise<TenantInfo> {
    validateTenantName(name);
    return this.#run(async () => {
      const row = await this.#db.insertInto('warden_tenants').values({ name }).onConflict((oc) => oc.doNothing()).returning(['name', 'created_at']).executeTakeFirst();
      if (!row) {
        const old = await this.#db.selectFrom('warden_tenants').select('deleting').where('name', '=', name).executeTakeFirst();
        if (old?.deleting) {
          throw new WardenError('FAILED_PRECONDITION', `tenant \`${name}\` is still being deleted: run DeleteTenant for it again to finish, then create it`, { field: 'name' });
        }
        throw new WardenError('ALREADY_EXISTS', `tenant \`${name}\` already exists`, { field: 'name' });
      }
      return { name: row.name, createdAt: new Date(row.created_at) };
    });
  }

  async tenantSettings(name: string): Promise<TenantSettings> {
    const row = await this.#run(() => this.#db.selectFrom('warden_tenants').select('settings').where('name', '=', name).where('deleting', '=', false).executeTakeFirst());
    if (!row) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
    return (row.settings as TenantSettings | null) ?? {};
  }

  async setTenantSettings(name: string, settings: TenantSettings): Promise<void> {
    const r = await this.#run(() =>
      this.#db.updateTable('warden_tenants').set({ settings: JSON.stringify(settings) }).where('name', '=', name).where('deleting', '=', false).executeTakeFirst(),
    );
    if (!Number(r.numUpdatedRows)) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
  }

  async listTenants(): Promise<readonly TenantInfo[]> {
    return this.#run(async () =>
      (await this.#db.selectFrom('warden_tenants').select(['name', 'created_at']).where('deleting', '=', false).orderBy('name').execute()).map((r) => ({ name: r.name, createdAt: new Date(r.created_at) })),
    );
  }

  async hasTenant(name: string): Promise<boolean> {
    return this.#run(async () => !!(await this.#db.selectFrom('warden_tenants').select('name').where('name', '=', name).where('deleting', '=', false).executeTakeFirst()));
  }

  async deleteTenant(name: string): Promise<void> {
    await this.#run(async () => {
      // First, under the writer lock: the tenant is marked (its name stays taken), its keys go,
      // and the deletion is a revision of its own, so the head only ever moves forward.
      await this.#serialize(() => this.#db.transaction().execute(async (trx) => {
        await takeWriteLock(trx, this.#locks, null);
        const marked = await trx.updateTable('warden_tenants').set({ deleting: true }).where('name', '=', name).returning('name').executeTakeFirst();
        if (!marked) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
        await trx.deleteFrom('warden_api_keys').where('tenant', '=', name).execute();
        await trx.insertInto('warden_transactions').values({ tenant: SYSTEM_TENANT, metadata: JSON.stringify({ deleted_tenant: name }), schema_changed: false }).execute();
        await this.#notify(trx, { kind: 'tenant-deleted', tenant: name });
      }));
      this.feed.emit({ kind: 'tenant-deleted', tenant: name });
      // Then the data, in batches that hold no lock (no write can add to it: the tenant is marked).
      for (const table of ['warden_relationships', 'warden_schemas', 'warden_transactions'] as const) {
        for (;;) {
          const r = await sql`delete from ${sql.table(table)} where ctid in (select ctid from ${sql.table(table)} where tenant = ${name} limit ${DELETE_BATCH})`.execute(this.#db);
          if (Number(r.numAffectedRows ?? 0n) < DELETE_BATCH) break;
        }
      }
      // Last, the name is free.
      await this.#db.deleteFrom('warden_tenants').where('name', '=', name).where('deleting', '=', true).execute();
    });
  }

  async insertKey(info: ApiKeyInfo, hash: string): Promise<void> {
    await this.#run(async () => {
      if (!(await this.hasTenant(info.tenant))) throw new WardenError('NOT_FOUND', `tenant \`${info.tenant}\` does not exist`, { field: 'tenant' });
      await this.#db
        .insertInto('warden_api_keys')
        .values({
          id: info.id,
          tenant: info.tenant,
          scopes: info.scopes.join(','),
          description: info.description,
          hash,
          created_at: info.createdAt,
          revoked_at: null,
          expires_at: info.expiresAt,
          last_used_at: null,
          resource_types: info.resourceTypes?.length ? info.resourceTypes.join(',') : null,
          max_rate: info.maxRatePerSecond || null,
          max_in_flight: info.maxInFlight || null,
        })
        .execute();
    });
  }

  async listKeys(tenant?: string): Promise<readonly ApiKeyInfo[]> {
    return this.#run(async () => {
      let q = this.#db.selectFrom('warden_api_keys').selectAll().orderBy('created_at');
      if (tenant !== undefined) q = q.where('tenant', '=', tenant);
      return (await q.execute()).map(toInfo);
    });
  }

  async revokeKey(id: string): Promise<boolean> {
    return this.#run(async () => {
      const done = await this.#db.transaction().execute(async (trx) => {
        const r = await trx.updateTable('warden_api_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
        if (!Number(r.numUpdatedRows)) return false;
        await this.#notify(trx, { kind: 'key-revoked', id });
        return true;
      });
      if (done) this.feed.emit({ kind: 'key-revoked', id });
      return done;
    });
  }

  async expireKey(id: string, at: Date): Promise<boolean> {
    return this.#run(async () => {
      const r = await this.#db
        .updateTable('warden_api_keys')
        .set({ expires_at: sql<Date>`least(coalesce(expires_at, ${at}), ${at})` })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  async touchKey(id: string, at: Date): Promise<void> {
    await this.#run(async () => {
      await this.#db.updateTable('warden_api_keys').set({ last_used_at: at }).where('id', '=', id).execute();
    });
  }

  async findKey(id: string): Promise<{ info: ApiKeyInfo; hash: string } | null> {
    return this.#run(async () => {
      const row = await this.#db.selectFrom('warden_api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { info: toInfo(row), hash: row.hash } : null;
    });
  }
}

/** A key's row (as `selectAll` returns it; the hash is not part of its info). */
function toInfo(row: Omit<Selectable<ApiKeysTable>, 'hash'>): ApiKeyInfo {
  return {
    id: row.id,
    tenant: row.tenant,
    scopes: row.scopes.split(',') as KeyScope[],
    description: row.description,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
    expiresAt: row.expires_at ? new Date(row.expires_at) : null,
    lastUsedAt: row.last_used_at ? new Date(row.last_used_at) : null,
    resourceTypes: row.resource_types ? row.resource_types.split(',') : null,
    maxRatePerSecond: row.max_rate,
    maxInFlight: row.max_in_flight,
  };
}
