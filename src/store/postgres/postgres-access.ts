import type { Kysely } from 'kysely';
import { WardenError } from '../../errors/error-code.js';
import { validateTenantName, type AccessStore, type ApiKeyInfo, type KeyScope, type TenantInfo } from '../access.js';
import { mapDriverError } from './driver-errors.js';
import type { Database } from './tables.js';

/** Tenants and API keys in PostgreSQL or PGlite. */
export class PostgresAccess implements AccessStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
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
      if (!row) throw new WardenError('ALREADY_EXISTS', `tenant \`${name}\` already exists`, { field: 'name' });
      return { name: row.name, createdAt: new Date(row.created_at) };
    });
  }

  async listTenants(): Promise<readonly TenantInfo[]> {
    return this.#run(async () =>
      (await this.#db.selectFrom('warden_tenants').select(['name', 'created_at']).orderBy('name').execute()).map((r) => ({ name: r.name, createdAt: new Date(r.created_at) })),
    );
  }

  async hasTenant(name: string): Promise<boolean> {
    return this.#run(async () => !!(await this.#db.selectFrom('warden_tenants').select('name').where('name', '=', name).executeTakeFirst()));
  }

  async deleteTenant(name: string): Promise<void> {
    await this.#run(() =>
      this.#db.transaction().execute(async (trx) => {
        const gone = await trx.deleteFrom('warden_tenants').where('name', '=', name).executeTakeFirst();
        if (!Number(gone.numDeletedRows)) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
        await trx.deleteFrom('warden_relationships').where('tenant', '=', name).execute();
        await trx.deleteFrom('warden_schemas').where('tenant', '=', name).execute();
        await trx.deleteFrom('warden_transactions').where('tenant', '=', name).execute();
      }),
    );
  }

  async insertKey(info: ApiKeyInfo, hash: string): Promise<void> {
    await this.#run(async () => {
      if (!(await this.hasTenant(info.tenant))) throw new WardenError('NOT_FOUND', `tenant \`${info.tenant}\` does not exist`, { field: 'tenant' });
      await this.#db
        .insertInto('warden_api_keys')
        .values({ id: info.id, tenant: info.tenant, scopes: info.scopes.join(','), description: info.description, hash, created_at: info.createdAt, revoked_at: null })
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
      const r = await this.#db.updateTable('warden_api_keys').set({ revoked_at: new Date() }).where('id', '=', id).where('revoked_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) > 0;
    });
  }

  async findKey(id: string): Promise<{ info: ApiKeyInfo; hash: string } | null> {
    return this.#run(async () => {
      const row = await this.#db.selectFrom('warden_api_keys').selectAll().where('id', '=', id).executeTakeFirst();
      return row ? { info: toInfo(row), hash: row.hash } : null;
    });
  }
}

function toInfo(row: { id: string; tenant: string; scopes: string; description: string; created_at: Date; revoked_at: Date | null }): ApiKeyInfo {
  return {
    id: row.id,
    tenant: row.tenant,
    scopes: row.scopes.split(',') as KeyScope[],
    description: row.description,
    createdAt: new Date(row.created_at),
    revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
  };
}
