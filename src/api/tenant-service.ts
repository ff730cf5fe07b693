import type { CallContext } from '../server/call.js';
import type { AuditLog } from '../store/audit.js';
import { recordAdminChange } from './audit-trail.js';
import type { AccessStore, TenantInfo, TenantSettings } from '../store/access.js';
import { invalidArgument } from '../errors/error-code.js';
import { toName } from './convert.js';
import { validateTenantName } from '../store/access.js';

const toMessage = (t: TenantInfo) => ({ name: t.name, created_at: t.createdAt.toISOString() });

interface PbTenantSettings {
  max_rate_per_second: number;
  max_in_flight: number;
  max_relationships: string | number;
  impersonate_permission: string;
}

const settingsMessage = (tenant: string, s: TenantSettings) => ({
  tenant,
  max_rate_per_second: s.maxRatePerSecond ?? 0,
  max_in_flight: s.maxInFlight ?? 0,
  max_relationships: String(s.maxRelationships ?? 0),
  impersonate_permission: s.impersonatePermission ?? '',
});

/** Settings from their message: 0 and empty mean the server's default (left out). */
function fromSettingsMessage(m: PbTenantSettings | null): TenantSettings {
  if (!m) throw invalidArgument('settings', 'is required (every field: 0 or empty for the server default)');
  const max = Number(m.max_relationships);
  if (!Number.isSafeInteger(max) || max < 0) throw invalidArgument('settings.max_relationships', `must be a whole number, got \`${String(m.max_relationships)}\``);
  return {
    ...(m.max_rate_per_second ? { maxRatePerSecond: m.max_rate_per_second } : {}),
    ...(m.max_in_flight ? { maxInFlight: m.max_in_flight } : {}),
    ...(max ? { maxRelationships: max } : {}),
    ...(m.impersonate_permission ? { impersonatePermission: toName(m.impersonate_permission, 'settings.impersonate_permission') } : {}),
  };
}

/** TenantService: one function per RPC. */
export function tenantService(access: AccessStore, audit: AuditLog) {
  const record = (ctx: CallContext, method: string, operation: string, tenant: string, target = tenant) =>
    recordAdminChange(audit, ctx, `TenantService.${method}`, tenant, { operation, target });
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
    async GetTenantSettings(req: { name: string }) {
      validateTenantName(req.name);
      return settingsMessage(req.name, await access.tenantSettings(req.name));
    },
    async UpdateTenantSettings(req: { name: string; settings: PbTenantSettings | null }, ctx: CallContext) {
      validateTenantName(req.name);
      const settings = fromSettingsMessage(req.settings);
      await access.setTenantSettings(req.name, settings);
      await record(ctx, 'UpdateTenantSettings', 'tenant-settings', req.name, `${req.name} ${JSON.stringify(settings)}`);
      return settingsMessage(req.name, settings);
    },
    async DeleteTenant(req: { name: string }, ctx: CallContext) {
      validateTenantName(req.name);
      await access.deleteTenant(req.name);
      await record(ctx, 'DeleteTenant', 'tenant-delete', req.name);
      return {};
    },
  };
}
