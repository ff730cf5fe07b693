import type { AccessStore, TenantInfo } from '../store/access.js';
import { validateTenantName } from '../store/access.js';

const toMessage = (t: TenantInfo) => ({ name: t.name, created_at: t.createdAt.toISOString() });

/** TenantService: one function per RPC. */
export function tenantService(access: AccessStore) {
  return {
    async CreateTenant(req: { name: string }) {
      validateTenantName(req.name);
      return { tenant: toMessage(await access.createTenant(req.name)) };
    },
    async ListTenants() {
      return { tenants: (await access.listTenants()).map(toMessage) };
    },
    async DeleteTenant(req: { name: string }) {
      validateTenantName(req.name);
      await access.deleteTenant(req.name);
      return {};
    },
  };
}
