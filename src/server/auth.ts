import { createHash } from 'node:crypto';
import { WardenError } from '../errors/error-code.js';
import type { Tenants } from '../api/tenant-state.js';
import { isLiveKey, verifyKey, type AccessStore, type ApiKeyInfo } from '../store/access.js';
import type { Authenticate } from './call.js';
import { TenantRateLimit } from './rate-limit.js';

/**
 * Authentication by API key: `authorization: Bearer wdn_<id>_<secret>` metadata. The key names
 * the tenant the call acts for and the scopes it may use. Verified keys are remembered for
 * `cacheMs` (default 5 s), but a revoked key or a deleted tenant is forgotten at once: the
 * datastore's access feed announces every revocation and deletion, from any server, and while
 * that feed is down nothing is remembered.
 */
export function keyAuthenticate(access: AccessStore, options: { cacheMs?: number; touchEveryMs?: number } = {}): (tenants: Tenants) => Authenticate {
  const cacheMs = options.cacheMs ?? 5000;
  const touchEveryMs = options.touchEveryMs ?? TOUCH_EVERY_MS;
  const cache = new Map<string, { info: ApiKeyInfo | null; until: number }>();
  /** Keys with a rate of their own: a bucket each. */
  const keyRates = new TenantRateLimit(1);
  /** When this process last recorded each key's use: a key's last use is written at most this often, not per call. */
  const touched = new Map<string, number>();
  // Bumped by every change, so a verification that raced one is not kept.
  let generation = 0;
  access.feed.subscribe((c) => {
    generation++;
    if (c.kind === 'reset') cache.clear();
    else for (const [token, hit] of cache) if (hit.info && (c.kind === 'key-revoked' ? hit.info.id === c.id : hit.info.tenant === c.tenant)) cache.delete(token);
  });
  return (tenants) => async (call, scope) => {
    const header = call.metadata.get('authorization')[0];
    if (typeof header !== 'string' || !/^Bearer /i.test(header)) {
      throw new WardenError('UNAUTHENTICATED', 'missing `authorization: Bearer <api key>` metadata');
    }
    const token = header.slice(7).trim();
    const now = Date.now();
    let hit = cache.get(token);
    if (!hit || hit.until <= now) {
      // Only what was true while the feed was live may be kept: a revocation could otherwise be missed.
      const live = access.feed.live;
      const before = generation;
      hit = { info: await verifyKey(access, token), until: now + cacheMs };
      if (cacheMs > 0 && live && access.feed.live && generation === before) {
        if (cache.size > 10_000) cache.clear();
        cache.set(token, hit);
      }
    }
    if (!hit.info || !isLiveKey(hit.info, now)) throw new WardenError('UNAUTHENTICATED', 'the API key is not valid: unknown, revoked, expired or malformed');
    const id = hit.info.id;
    if ((touched.get(id) ?? 0) + touchEveryMs <= now) {
      touched.set(id, now);
      if (touched.size > 10_000) touched.clear();
      // Best effort, off the call's path: a failure to record a use never fails the call.
      access.touchKey(id, new Date(now)).catch(() => {});
    }
    if (!hit.info.scopes.includes(scope)) {
      throw new WardenError('PERMISSION_DENIED', `the API key lacks the \`${scope}\` scope this method needs (it has ${hit.info.scopes.join(', ')})`);
    }
    if (hit.info.maxRatePerSecond) keyRates.take(id, hit.info.maxRatePerSecond, 'this API key');
    return { tenant: tenants.get(hit.info.tenant), actor: { keyId: id, tenant: hit.info.tenant, resourceTypes: hit.info.resourceTypes ?? null, maxInFlight: hit.info.maxInFlight ?? null } };
  };
}

/** How often a key's last use is recorded, at most (per process). */
export const TOUCH_EVERY_MS = 5 * 60 * 1000;

/** The most tokens (tenants) one testing server takes on. */
export const MAX_TESTING_TENANTS = 10_000;

/**
 * `warden serve --testing`: every distinct bearer token is a tenant of its own, new and empty on
 * first use (as `spicedb serve-testing` gives each token its own datastore), with every scope but
 * admin, so a client's test suite can isolate its tests by token with no keys to make. Only for
 * tests: anyone who can reach the server can write.
 */
export function testingAuthenticate(access: AccessStore): (tenants: Tenants) => Authenticate {
  const made = new Map<string, Promise<string>>();
  return (tenants) => async (call, scope) => {
    const header = call.metadata.get('authorization')[0];
    const token = typeof header === 'string' && /^Bearer /i.test(header) ? header.slice(7).trim() : '';
    if (!token) throw new WardenError('UNAUTHENTICATED', 'missing `authorization: Bearer <token>` metadata: in testing mode any token names a tenant of its own');
    if (scope === 'admin') throw new WardenError('PERMISSION_DENIED', 'tenants are not managed in testing mode: each token is its own tenant');
    let tenant = made.get(token);
    if (!tenant) {
      if (made.size >= MAX_TESTING_TENANTS) throw new WardenError('RESOURCE_EXHAUSTED', `testing mode holds at most ${MAX_TESTING_TENANTS} tokens' tenants: restart the server`);
      const name = `testing-${createHash('sha256').update(token).digest('hex').slice(0, 40)}`;
      tenant = access.createTenant(name).then(
        () => name,
        (e: unknown) => {
          made.delete(token);
          throw e;
        },
      );
      made.set(token, tenant);
    }
    return tenants.get(await tenant);
  };
}
