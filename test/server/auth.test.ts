import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import t from 'tap';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer } from '../../src/server/server.js';
import { createKey } from '../../src/store/access.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, obj, relMsg, subj, tenantCall } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const SCHEMA = 'definition user {}\ndefinition doc { relation viewer: user  permission view = viewer }';

t.test('tenants and API keys', async (t) => {
  const ds = await openDatastore(await freshDatabase(t));
  await ds.migrate();
  const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 0 }), log: () => {} }, '127.0.0.1:0');
  const address = `127.0.0.1:${server.port}`;
  t.teardown(async () => {
    await server.shutdown(1000);
    await ds.close();
  });
  await ds.access.createTenant('acme');
  await ds.access.createTenant('globex');
  const acme = apiClient(address, (await createKey(ds.access, 'acme', ['check', 'read', 'write', 'schema'])).token);
  const globex = apiClient(address, (await createKey(ds.access, 'globex', ['check', 'read', 'write', 'schema'])).token);
  const acmeChecker = apiClient(address, (await createKey(ds.access, 'acme', ['check'])).token);
  const anonymous = apiClient(address);
  const forged = apiClient(address, 'wdn_0123456789abcdef_' + 'A'.repeat(43));
  t.teardown(() => [acme, globex, acmeChecker, anonymous, forged].forEach((c) => c.close()));

  await acme.schema.WriteSchema({ schema: SCHEMA });
  const w = await acme.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:plan#viewer@user:ann') }] });
  const fresh = { at_least_as_fresh: w.written_at };

  await t.test('a call needs a valid key', async (t) => {
    await t.rejects(anonymous.permission.Check({ resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') }), {
      code: status.UNAUTHENTICATED,
      details: /missing `authorization: Bearer <api key>`/,
    });
    await t.rejects(forged.permission.Check({ resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') }), { code: status.UNAUTHENTICATED, details: /not valid/ });
    // An undecodable message from a caller without a key: told to authenticate, nothing about the message.
    const raw = new Client(address, credentials.createInsecure());
    const code = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest('/warden.v1.PermissionService/Check', (b: Buffer) => b, (b: Buffer) => b, Buffer.from([0xff, 0xff, 0xff]), new Metadata(), (e) => resolve(e?.code ?? 0)),
    );
    raw.close();
    t.equal(code, status.UNAUTHENTICATED);
  });

  await t.test("a key of tenant A can neither read nor write tenant B's data", async (t) => {
    const r = await acme.permission.Check({ consistency: fresh, resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') });
    t.equal(r.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
    await t.rejects(globex.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') }), {
      code: status.FAILED_PRECONDITION,
      details: /no schema has been written for this tenant/,
    });
    await globex.schema.WriteSchema({ schema: SCHEMA });
    t.same(await globex.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc' } }), [], "globex sees none of acme's relationships");
    t.equal((await globex.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') })).permissionship, 'PERMISSIONSHIP_NO_PERMISSION');
    await globex.relationship.Delete({ filter: { resource_type: 'doc' } });
    t.equal((await acme.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc' } })).length, 1, "globex's delete did not touch acme");
  });

  await t.test('a check-scoped key cannot write, read relationships or change the schema', async (t) => {
    t.equal((await acmeChecker.permission.Check({ consistency: fresh, resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') })).permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
    await t.rejects(acmeChecker.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:plan#viewer@user:eve') }] }), {
      code: status.PERMISSION_DENIED,
      details: /lacks the `write` scope/,
    });
    await t.rejects(acmeChecker.relationship.Read({ filter: { resource_type: 'doc' } }), { code: status.PERMISSION_DENIED });
    await t.rejects(acmeChecker.schema.WriteSchema({ schema: SCHEMA }), { code: status.PERMISSION_DENIED });
  });

  await t.test('revoked keys stop working', async (t) => {
    const { info, token } = await createKey(ds.access, 'acme', ['check']);
    const c = apiClient(address, token);
    t.teardown(() => c.close());
    await c.permission.Check({ consistency: fresh, resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') });
    t.equal(await ds.access.revokeKey(info.id), true);
    await t.rejects(c.permission.Check({ resource: obj('doc:plan'), permission: 'view', subject: subj('user:ann') }), { code: status.UNAUTHENTICATED });
  });

  await t.test('TenantService needs the admin scope; deleting a tenant removes its data and keys', async (t) => {
    const call = (token: string, method: string, req: unknown) => tenantCall(address, token, method, req);
    const admin = (await createKey(ds.access, 'default', ['admin'])).token;
    const plain = (await createKey(ds.access, 'default', ['check', 'read', 'write', 'schema'])).token;
    await t.rejects(call(plain, 'ListTenants', {}), { code: status.PERMISSION_DENIED });
    await call(admin, 'CreateTenant', { name: 'initech' });
    await t.rejects(call(admin, 'CreateTenant', { name: 'initech' }), { code: status.ALREADY_EXISTS });
    await t.rejects(call(admin, 'CreateTenant', { name: 'Bad Name' }), { code: status.INVALID_ARGUMENT, details: /^name:/ });
    t.same((await call(admin, 'ListTenants', {})).tenants.map((x: any) => x.name), ['acme', 'default', 'globex', 'initech']);
    await call(admin, 'DeleteTenant', { name: 'acme' });
    await t.rejects(call(admin, 'DeleteTenant', { name: 'acme' }), { code: status.NOT_FOUND });
    await t.rejects(acme.relationship.Read({ filter: { resource_type: 'doc' } }), { code: status.UNAUTHENTICATED }, "the deleted tenant's keys are gone");
    t.same(await ds.access.listKeys('acme'), []);
    t.equal((await ds.store('acme').snapshot(await ds.store('acme').headRevision()).query({ resourceType: 'doc' })).length, 0, 'and its relationships');
  });
});

t.test('warden keys create, list and revoke work on the datastore directly', async (t) => {
  const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
  const url = await freshDatabase(t);
  spawnSync(NODE, nodeArgs(bin, 'migrate', '--datastore', url));
  const run = (...args: string[]) => spawnSync(NODE, nodeArgs(bin, ...args, '--datastore', url), { encoding: 'utf8' });
  const created = run('keys', 'create', '--tenant', 'acme', '--scope', 'check,read', '--json');
  t.equal(created.status, 0, created.stderr);
  const key = JSON.parse(created.stdout);
  t.match(key, { tenant: 'acme', scopes: ['check', 'read'], key: /^wdn_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/ });
  const listed = run('keys', 'list', '--tenant', 'acme');
  t.match(listed.stdout, new RegExp(`^${key.id}  acme  check,read  active`, 'm'));
  t.notMatch(listed.stdout, key.key.slice(22), 'secrets are never listed');
  t.equal(run('keys', 'revoke', key.id).status, 0);
  t.match(run('keys', 'list', '--json').stdout, /"revokedAt":"/);
  const again = run('keys', 'revoke', key.id);
  t.equal(again.status, 3, 'revoking a revoked key is a usage error');
  t.match(again.stderr, /^warden: no active key `[^`]+`: see `warden keys list`\n$/);
  t.equal(run('keys', 'create', '--scope', 'everything').status, 3, 'a bad scope is a usage error');
  const dir = mkdtempSync(join(tmpdir(), 'warden-keys-'));
  t.equal(spawnSync(NODE, nodeArgs(bin, 'keys', 'create', '--datastore', `pglite:${dir}`), { encoding: 'utf8' }).status, 0, 'works on the embedded store too');
  // Listing where there is no store names the missing store; it does not make an empty one.
  const empty = mkdtempSync(join(tmpdir(), 'warden-nostore-'));
  const env = { ...process.env };
  delete env['WARDEN_DATASTORE'];
  const listed2 = spawnSync(NODE, nodeArgs(bin, 'keys', 'list'), { encoding: 'utf8', cwd: empty, env });
  t.equal(listed2.status, 3, 'keys list with no store is a usage error');
  t.match(listed2.stderr, /^warden: there is no embedded store at \.\/warden-data: name the store with --datastore/);
  t.notOk(existsSync(join(empty, 'warden-data')), 'and no empty store was created');
});
