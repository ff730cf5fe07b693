import { invalidArgument, WardenError } from '../errors/error-code.js';
import { createKey, validateScopes, validateTenantName, type AccessStore, type ApiKeyInfo } from '../store/access.js';

const toMessage = (k: ApiKeyInfo) => ({
  id: k.id,
  tenant: k.tenant,
  scopes: [...k.scopes],
  description: k.description,
  created_at: k.createdAt.toISOString(),
  revoked_at: k.revokedAt ? k.revokedAt.toISOString() : '',
});

/** The longest description a key may carry. */
const MAX_DESCRIPTION = 1000;

/** KeyService: one function per RPC (admin scope, checked by the call wrapper). */
export function keyService(access: AccessStore) {
  return {
    async CreateKey(req: { tenant: string; scopes: string[]; description: string }) {
      validateTenantName(req.tenant, 'tenant');
      if (!req.scopes.length) throw invalidArgument('scopes', 'name at least one of check, read, write, schema, admin');
      const scopes = validateScopes(req.scopes, 'scopes');
      if (req.description.length > MAX_DESCRIPTION) throw invalidArgument('description', `is ${req.description.length} characters, at most ${MAX_DESCRIPTION} allowed`);
      if (!(await access.hasTenant(req.tenant))) throw new WardenError('NOT_FOUND', `no tenant \`${req.tenant}\`: create it with CreateTenant first`, { field: 'tenant' });
      const { info, token } = await createKey(access, req.tenant, scopes, req.description);
      return { key: toMessage(info), secret: token };
    },
    async ListKeys(req: { tenant: string }) {
      if (req.tenant) validateTenantName(req.tenant, 'tenant');
      return { keys: (await access.listKeys(req.tenant || undefined)).map(toMessage) };
    },
    async RevokeKey(req: { id: string }) {
      if (!/^[0-9a-f]{1,64}$/.test(req.id)) throw invalidArgument('id', 'expected a key id as `warden keys list` shows it');
      if (!(await access.revokeKey(req.id))) throw new WardenError('NOT_FOUND', `no live key \`${req.id}\``, { field: 'id' });
      return {};
    },
  };
}
