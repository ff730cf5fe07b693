import t, { type Test } from 'tap';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer } from '../../src/server/server.js';
import { createKey } from '../../src/store/access.js';
import type { Datastore } from '../../src/store/datastore.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, serviceCall } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';

// Keys that expire, record their last use, and rotate without downtime, through KeyService,
// on the memory store and on PostgreSQL (whose migration adds the columns).

const SCHEMA = 'definition user {}\ndefinition doc { relation viewer: user  permission view = viewer }';

for (const [name, open] of [
  ['memory', async () => new MemoryDatastore() as Datastore],
  ['PostgreSQL', async (t: Test) => openDatastore(await freshDatabase(t))],
] as const) {
  t.test(`key expiry, last use and rotation (${name})`, async (t) => {
    const ds = await open(t as never);
    await ds.migrate();
    const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 0, touchEveryMs: 0 }), log: () => {} }, '127.0.0.1:0');
    const address = `127.0.0.1:${server.port}`;
    t.teardown(async () => {
      await server.shutdown(500);
      await ds.close();
    });
    await ds.access.createTenant('acme');
    const admin = (await createKey(ds.access, 'acme', ['admin'])).token;
    const keys = (method: string, req: object) => serviceCall(address, admin, 'KeyService', method, req);
    const works = async (token: string): Promise<boolean> => {
      const c = apiClient(address, token);
      try {
        await c.schema.WriteSchema({ schema: SCHEMA });
        return true;
      } catch (e) {
        if ((e as { code?: number }).code === 16) return false;
        throw e;
      } finally {
        c.close();
      }
    };

    // Expiry: a key made to live 1 second works, then is refused; ListKeys shows when.
    const short = await keys('CreateKey', { tenant: 'acme', scopes: ['schema'], description: 'short', expires_in_seconds: '1' });
    t.match(short.key.expires_at, /^\d{4}-/, 'its expiry is listed');
    t.ok(await works(short.secret), 'works before it expires');
    await new Promise((r) => setTimeout(r, 1100));
    t.notOk(await works(short.secret), 'refused once expired (UNAUTHENTICATED)');
    await t.rejects(keys('CreateKey', { tenant: 'acme', scopes: ['schema'], expires_in_seconds: '-5' }), { code: 3, details: /expires_in_seconds/ });

    // Last use: recorded (here on every call: touchEveryMs 0; by default at most every 5 minutes).
    const used = await keys('CreateKey', { tenant: 'acme', scopes: ['schema'], description: 'used' });
    t.equal(used.key.last_used_at, '', 'never used yet');
    t.ok(await works(used.secret));
    let listed: any = null;
    for (let i = 0; i < 50 && !listed?.last_used_at; i++) {
      listed = (await keys('ListKeys', { tenant: 'acme' })).keys.find((k: any) => k.id === used.key.id);
      if (!listed.last_used_at) await new Promise((r) => setTimeout(r, 20));
    }
    t.match(listed.last_used_at, /^\d{4}-/, 'its last use is recorded');

    // Rotation: a new key with the same tenant, scopes and description; the old one works through the grace period only.
    const rotated = await keys('RotateKey', { id: used.key.id, grace_seconds: '1' });
    t.match(rotated.key, { tenant: 'acme', scopes: ['schema'], description: 'used' });
    t.not(rotated.key.id, used.key.id);
    t.match(rotated.replaced, { id: used.key.id, expires_at: /^\d{4}-/ });
    t.ok(await works(rotated.secret), 'the new key works');
    t.ok(await works(used.secret), 'the old one still works within its grace');
    await new Promise((r) => setTimeout(r, 1100));
    t.notOk(await works(used.secret), 'and not after it');
    t.ok(await works(rotated.secret), 'the new one goes on');
    await t.rejects(keys('RotateKey', { id: used.key.id, grace_seconds: '0' }), { code: 5, details: /no live key/ }, 'an expired key cannot be rotated');
    // A grace longer than the key's own remaining life does not extend it.
    const brief = await keys('CreateKey', { tenant: 'acme', scopes: ['schema'], expires_in_seconds: '60' });
    const again = await keys('RotateKey', { id: brief.key.id, grace_seconds: '86400' });
    t.equal(again.replaced.expires_at, brief.key.expires_at, 'the old expiry stands when sooner');
  });
}
