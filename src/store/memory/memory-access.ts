import { WardenError } from '../../errors/error-code.js';
import { AccessFeed } from '../access-feed.js';
import { validateTenantName, type AccessStore, type ApiKeyInfo, type TenantInfo, type TenantSettings } from '../access.js';

/** Tenants and keys in memory. `onDelete` drops a deleted tenant's data. */
export class MemoryAccess implements AccessStore {
  readonly #tenants = new Map<string, TenantInfo>([['default', { name: 'default', createdAt: new Date() }]]);
  readonly #keys = new Map<string, { info: ApiKeyInfo; hash: string }>();
  readonly #settings = new Map<string, TenantSettings>();
  readonly #onDelete: (tenant: string) => void;
  readonly feed = new AccessFeed();

  constructor(onDelete: (tenant: string) => void) {
    this.#onDelete = onDelete;
  }

  async createTenant(name: string): Promise<TenantInfo> {
    validateTenantName(name);
    if (this.#tenants.has(name)) throw new WardenError('ALREADY_EXISTS', `tenant \`${name}\` already exists`, { field: 'name' });
    const t = { name, createdAt: new Date() };
    this.#tenants.set(name, t);
    return t;
  }

  async tenantSettings(name: string): Promise<TenantSettings> {
    if (!this.#tenants.has(name)) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
    return this.#settings.get(name) ?? {};
  }

  async setTenantSettings(name: string, settings: TenantSettings): Promise<void> {
    if (!this.#tenants.has(name)) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
    this.#settings.set(name, { ...settings });
  }

  async listTenants(): Promise<readonly TenantInfo[]> {
    return [...this.#tenants.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
  }

  async hasTenant(name: string): Promise<boolean> {
    return this.#tenants.has(name);
  }

  /** True if the tenant exists (synchronously, for the memory stores' writes). */
  exists(name: string): boolean {
    return this.#tenants.has(name);
  }

  async deleteTenant(name: string): Promise<void> {
    if (!this.#tenants.delete(name)) throw new WardenError('NOT_FOUND', `tenant \`${name}\` does not exist`, { field: 'name' });
    this.#settings.delete(name);
    for (const [id, k] of this.#keys) if (k.info.tenant === name) this.#keys.delete(id);
    this.#onDelete(name);
    this.feed.emit({ kind: 'tenant-deleted', tenant: name });
  }

  async insertKey(info: ApiKeyInfo, hash: string): Promise<void> {
    if (!this.#tenants.has(info.tenant)) throw new WardenError('NOT_FOUND', `tenant \`${info.tenant}\` does not exist`, { field: 'tenant' });
    this.#keys.set(info.id, { info, hash });
  }

  async listKeys(tenant?: string): Promise<readonly ApiKeyInfo[]> {
    return [...this.#keys.values()].map((k) => k.info).filter((k) => tenant === undefined || k.tenant === tenant);
  }

  async revokeKey(id: string): Promise<boolean> {
    const k = this.#keys.get(id);
    if (!k || k.info.revokedAt) return false;
    this.#keys.set(id, { ...k, info: { ...k.info, revokedAt: new Date() } });
    this.feed.emit({ kind: 'key-revoked', id });
    return true;
  }

  async expireKey(id: string, at: Date): Promise<boolean> {
    const k = this.#keys.get(id);
    if (!k || k.info.revokedAt) return false;
    if (!k.info.expiresAt || k.info.expiresAt > at) this.#keys.set(id, { ...k, info: { ...k.info, expiresAt: at } });
    return true;
  }

  async touchKey(id: string, at: Date): Promise<void> {
    const k = this.#keys.get(id);
    if (k) this.#keys.set(id, { ...k, info: { ...k.info, lastUsedAt: at } });
  }

  async findKey(id: string): Promise<{ info: ApiKeyInfo; hash: string } | null> {
    return this.#keys.get(id) ?? null;
  }
}
