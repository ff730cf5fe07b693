import type { CallContext } from '../server/call.js';
import type { AuditLog } from '../store/audit.js';
import { recordAudit } from './audit-trail.js';
import type { AccessStore, TenantInfo } from '../store/access.js';
import { validateTenantName } from '../store/access.js';

const toMessage = (t: TenantInfo) => ({ name: t.name, created_at: t.createdAt.toISOString() });

/** TenantService: one function per RPC. */
export function tenantService(access: AccessStore, audit: AuditLog) {
  const record = (ctx: CallContext, method: string, operation: string, tenant: string) =>
    recordAudit(audit, ctx, { method: `TenantService.${method}`, tenant, revision: null, changes: [{ operation, target: tenant }] });
  return {
    async CreateTenant(req: { name: string }, ctx: CallContext) {
      validateTenantName(req.name);
      const made = await access.createTenant(req.name);
      await record(ctx, 'CreateTenant', 'tenant-create', req.name);
      return { tenant: toMessage(made) };
    },
    async ListTenants() {
      return { tenants: (await access.listTenants()).map(toMessage) };
    },
    async DeleteTenant(req: { name: string }, ctx: CallContext) {
      validateTenantName(req.name);
      await access.deleteTenant(req.name);
      await record(ctx, 'DeleteTenant', 'tenant-delete', req.name);
      return {};
    },
  };
}
