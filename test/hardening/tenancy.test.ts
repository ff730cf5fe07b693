import { status } from '@grpc/grpc-js';
import t, { type Test } from 'tap';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer } from '../../src/server/server.js';
import { createKey } from '../../src/store/access.js';
import type { Datastore } from '../../src/store/datastore.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, obj, relMsg, subj, tenantCall } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';

const SCHEMA = 'definition user {}\ndefinition doc { relation viewer: user  relation extra: user  permission view = viewer }';
const fully = { fully_consistent: true };

/** Two servers ("nodes") on one PostgreSQL database, each with its own datastore connection and a long auth cache. */
async function twoNodes(t: Test) {
  const url = await freshDatabase(t);
  const nodes: { ds: Datastore; address: string }[] = [];
  for (let i = 0; i < 2; i++) {
    const ds = await openDatastore(url);
    if (i === 0) await ds.migrate();
    else await ds.assertMigrated();
    const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 60_000 }), quantizationMs: 0, log: () => {} }, '127.0.0.1:0');
    t.teardown(async () => {
      await server.shutdown(500);
      await ds.close();
    });
    nodes.push({ ds, address: `127.0.0.1:${server.port}` });
  }
  return nodes as [(typeof nodes)[0], (typeof nodes)[0]];
}

const ALL = ['check', 'read', 'write', 'schema'];

t.test('deleting a tenant revokes its keys at once on every node; a new tenant of that name starts empty', async (t) => {
  const [a, b] = await twoNodes(t);
  const admin = (await createKey(a.ds.access, 'default', ['admin'])).token;
  await a.ds.access.createTenant('acme');
  await a.ds.access.createTenant('globex');
  const acmeKey = (await createKey(a.ds.access, 'acme', ALL)).token;
  const acmeOnB = apiClient(b.address, acmeKey);
  const globex = apiClient(b.address, (await createKey(a.ds.access, 'globex', ALL)).token);
  t.teardown(() => [acmeOnB, globex].forEach((c) => c.close()));

  await globex.schema.WriteSchema({ schema: SCHEMA });
  await globex.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:g#viewer@user:gus') }] });
  await acmeOnB.schema.WriteSchema({ schema: SCHEMA });
  await acmeOnB.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@user:ann') }] });
  // Globex reads at the head, which is now acme's last write.
  const seen = await globex.permission.Check({ consistency: fully, resource: obj('doc:g'), permission: 'view', subject: subj('user:gus') });
  t.equal(seen.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');

  await tenantCall(a.address, admin, 'DeleteTenant', { name: 'acme' });
  // Node B cached acme's key for a minute; its very next write must not land, nor may any after.
  const raced = await acmeOnB.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:z#viewer@user:zed') }] }).then(
    () => 'written',
    (e: { code: number }) => e.code,
  );
  t.ok(raced === status.UNAUTHENTICATED || raced === status.NOT_FOUND, `a write racing the deletion is refused (${raced})`);
  let refused = false;
  for (let i = 0; i < 40 && !refused; i++) {
    refused = await acmeOnB.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') }).then(
      () => false,
      (e: { code: number }) => e.code === status.UNAUTHENTICATED,
    );
    if (!refused) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(refused, 'node B refuses the key well within its cache time (the deletion was announced)');
  await t.rejects(acmeOnB.schema.WriteSchema({ schema: SCHEMA }), { code: status.UNAUTHENTICATED });

  t.equal(
    (await globex.permission.Check({ consistency: { at_least_as_fresh: seen.checked_at }, resource: obj('doc:g'), permission: 'view', subject: subj('user:gus') })).permissionship,
    'PERMISSIONSHIP_HAS_PERMISSION',
    "another tenant's zookie from before the deletion is still good: the head did not go back",
  );

  await tenantCall(a.address, admin, 'CreateTenant', { name: 'acme' });
  const reborn = apiClient(b.address, (await createKey(a.ds.access, 'acme', ALL)).token);
  t.teardown(() => reborn.close());
  await t.rejects(reborn.schema.ReadSchema({ consistency: fully }), { code: status.FAILED_PRECONDITION }, 'the new acme has no schema');
  await reborn.schema.WriteSchema({ schema: SCHEMA });
  t.same(await reborn.relationship.Read({ consistency: fully, filter: { resource_type: 'doc' } }), [], 'and none of the old relationships');
});

t.test("a zookie of one tenant is refused by another", async (t) => {
  const [a] = await twoNodes(t);
  await a.ds.access.createTenant('acme');
  await a.ds.access.createTenant('globex');
  const acme = apiClient(a.address, (await createKey(a.ds.access, 'acme', ALL)).token);
  const globex = apiClient(a.address, (await createKey(a.ds.access, 'globex', ALL)).token);
  t.teardown(() => [acme, globex].forEach((c) => c.close()));
  const w = await acme.schema.WriteSchema({ schema: SCHEMA });
  await globex.schema.WriteSchema({ schema: SCHEMA });
  await t.rejects(globex.permission.Check({ consistency: { at_exact_snapshot: w.written_at }, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') }), {
    code: status.INVALID_ARGUMENT,
    details: /issued for another tenant/,
  });
});

t.test('WriteSchema racing Writes never leaves relationships the schema no longer allows', async (t) => {
  const [a, b] = await twoNodes(t);
  const key = (await createKey(a.ds.access, 'default', ALL)).token;
  const onA = apiClient(a.address, key);
  const onB = apiClient(b.address, key);
  t.teardown(() => [onA, onB].forEach((c) => c.close()));
  const without = 'definition user {}\ndefinition doc { relation viewer: user  permission view = viewer }';
  for (let round = 0; round < 6; round++) {
    await onA.schema.WriteSchema({ schema: SCHEMA });
    await onA.relationship.Delete({ filter: { resource_type: 'doc' } });
    const writes = Array.from({ length: 4 }, (_, i) =>
      (i % 2 ? onA : onB).relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg(`doc:r${round}w${i}#extra@user:u${i}`) }] }),
    );
    const schema = onB.schema.WriteSchema({ schema: without });
    const settled = await Promise.allSettled([...writes, schema]);
    const current = (await onA.schema.ReadSchema({ consistency: fully })).schema as string;
    const extras = await onA.relationship.Read({ consistency: fully, filter: { resource_type: 'doc', optional_relation: 'extra' } });
    if (!current.includes('extra')) t.equal(extras.length, 0, `round ${round}: the schema dropped extra and no extra relationship remains`);
    else t.equal(settled[4]!.status, 'rejected', `round ${round}: the schema kept extra because its change was refused`);
  }
});

t.test("one tenant's slow import does not stall another tenant's writes", async (t) => {
  const [a] = await twoNodes(t);
  await a.ds.access.createTenant('slow');
  await a.ds.access.createTenant('quick');
  const slow = apiClient(a.address, (await createKey(a.ds.access, 'slow', ALL)).token);
  const quick = apiClient(a.address, (await createKey(a.ds.access, 'quick', ALL)).token);
  t.teardown(() => [slow, quick].forEach((c) => c.close()));
  await slow.schema.WriteSchema({ schema: SCHEMA });
  await quick.schema.WriteSchema({ schema: SCHEMA });
  // An import whose client sends one chunk and then waits: the stream stays open.
  const stream = slow.relationship.openImport();
  stream.write({ relationships: Array.from({ length: 500 }, (_, i) => relMsg(`doc:s${i}#viewer@user:u${i}`)) });
  await new Promise((r) => setTimeout(r, 200));
  const other = quick.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:q#viewer@user:quinn') }] });
  const outcome = await Promise.race([other.then(() => 'written'), new Promise((r) => setTimeout(() => r('stalled'), 10_000))]);
  t.equal(outcome, 'written', "the other tenant's write completed while the import's stream was still open");
  t.equal((await stream.end()).count, '500', 'and the import then committed');
});
