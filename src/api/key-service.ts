import type { CallContext } from '../server/call.js';
import type { AuditLog } from '../store/audit.js';
import { recordAdminChange } from './audit-trail.js';
import { toTypeName } from './convert.js';
import { invalidArgument, WardenError } from '../errors/error-code.js';
import { createKey, rotateKey, validateScopes, validateTenantName, type AccessStore, type ApiKeyInfo } from '../store/access.js';

const toMessage = (k: ApiKeyInfo) => ({
  id: k.id,
  tenant: k.tenant,
  scopes: [...k.scopes],
  description: k.description,
  created_at: k.createdAt.toISOString(),
  revoked_at: k.revokedAt ? k.revokedAt.toISOString() : '',
  expires_at: k.expiresAt ? k.expiresAt.toISOString() : '',
  last_used_at: k.lastUsedAt ? k.lastUsedAt.toISOString() : '',
  resource_types: [...(k.resourceTypes ?? [])],
  max_rate_per_second: k.maxRatePerSecond ?? 0,
  max_in_flight: k.maxInFlight ?? 0,
});

/** The longest lifetime or grace a key may be given: 10 years. */
const MAX_SECONDS = 10 * 366 * 24 * 3600;

/** A duration field (int64 seconds, a string on the wire) as milliseconds; 0 for none. */
function seconds(v: string | number | undefined, field: string): number {
  const n = Number(v ?? 0);
  if (!Number.isSafeInteger(n) || n < 0 || n > MAX_SECONDS) throw invalidArgument(field, `must be a whole number of seconds from 0 to ${MAX_SECONDS}, got \`${String(v)}\``);
  return n * 1000;
}

/** The longest description a key may carry. */
const MAX_DESCRIPTION = 1000;

function keyId(id: string): void {
  if (!/^[0-9a-f]{1,64}$/.test(id)) throw invalidArgument('id', 'expected a key id as `warden keys list` shows it');
}

/** KeyService: one function per RPC (admin scope, checked by the call wrapper). */
export function keyService(access: AccessStore, audit: AuditLog) {
  const record = (ctx: CallContext, method: string, tenant: string, operation: string, target: string) =>
    recordAdminChange(audit, ctx, `KeyService.${method}`, tenant, { operation, target });
  return {
    async CreateKey(
      req: { tenant: string; scopes: string[]; description: string; expires_in_seconds: string; resource_types?: string[]; max_rate_per_second?: number; max_in_flight?: number },
      ctx: CallContext,
    ) {
      const resourceTypes = (req.resource_types ?? []).map((t, i) => toTypeName(t, `resource_types[${i}]`));
      validateTenantName(req.tenant, 'tenant');
      const scopes = validateScopes(req.scopes, 'scopes');
      if (req.description.length > MAX_DESCRIPTION) throw invalidArgument('description', `is ${req.description.length} characters, at most ${MAX_DESCRIPTION} allowed`);
      const lifetime = seconds(req.expires_in_seconds, 'expires_in_seconds');
      if (!(await access.hasTenant(req.tenant))) throw new WardenError('NOT_FOUND', `no tenant \`${req.tenant}\`: create it with CreateTenant first`, { field: 'tenant' });
      const { info, token } = await createKey(access, req.tenant, scopes, req.description, lifetime ? new Date(Date.now() + lifetime) : null, {
        resourceTypes,
        maxRatePerSecond: req.max_rate_per_second ?? 0,
        maxInFlight: req.max_in_flight ?? 0,
      });
      await record(ctx, 'CreateKey', info.tenant, 'key-create', `${info.id} (${scopes.join(',')})`);
      return { key: toMessage(info), secret: token };
    },
    async RotateKey(req: { id: string; grace_seconds: string; expires_in_seconds: string }, ctx: CallContext) {
      keyId(req.id);
      const grace = seconds(req.grace_seconds, 'grace_seconds');
      const lifetime = seconds(req.expires_in_seconds, 'expires_in_seconds');
      const rotated = await rotateKey(access, req.id, grace, lifetime);
      if (!rotated) throw new WardenError('NOT_FOUND', `no live key \`${req.id}\``, { field: 'id' });
      await record(ctx, 'RotateKey', rotated.info.tenant, 'key-rotate', `${req.id} -> ${rotated.info.id}`);
      return { key: toMessage(rotated.info), secret: rotated.token, replaced: toMessage(rotated.replaced) };
    },
    async ListKeys(req: { tenant: string }) {
      if (req.tenant) validateTenantName(req.tenant, 'tenant');
      return { keys: (await access.listKeys(req.tenant || undefined)).map(toMessage) };
    },
    async RevokeKey(req: { id: string }, ctx: CallContext) {
      keyId(req.id);
      const found = await access.findKey(req.id);
      if (!found || !(await access.revokeKey(req.id))) throw new WardenError('NOT_FOUND', `no live key \`${req.id}\``, { field: 'id' });
      await record(ctx, 'RevokeKey', found.info.tenant, 'key-revoke', req.id);
      return {};
    },
  };
}
