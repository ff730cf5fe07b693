import { credentials, Metadata } from '@grpc/grpc-js';
import t from 'tap';
import { loadApi, serviceClient } from '../../src/server/proto.js';
import { createKey } from '../../src/store/access.js';
import { requestResourceTypes } from '../../src/server/resource-types.js';
import { KEYED_DATASTORES, keyedServer } from '../helpers/key-server.js';
import { apiClient, obj, relMsg, serviceCall, subj } from '../helpers/api-client.js';

// Keys held to resource types and to a rate of their own.

t.test('the resource types a request names', async (t) => {
  t.same([...requestResourceTypes({ resource: { object_type: 'doc', object_id: 'a' }, subject: { object: { object_type: 'user' } } })], ['doc'], 'not the subject');
  t.same([...requestResourceTypes({ items: [{ resource: { object_type: 'doc' } }, { resource: { object_type: 'folder' } }] })].sort(), ['doc', 'folder'], 'every item');
  t.same([...requestResourceTypes({ filter: { resource_type: 'doc' } })], ['doc'], 'a filter');
  t.same([...requestResourceTypes({ updates: [{ relationship: { resource: { object_type: 'doc' }, subject: { object: { object_type: 'group' } } } }] })], ['doc'], 'a write');
  t.same([...requestResourceTypes({ resource_object_type: 'doc' })], ['doc'], "SpiceDB's LookupResources");
  t.same([...requestResourceTypes({ schema: 'definition doc {}' })], [], 'none');
});

const SCHEMA = 'definition user {}\ndefinition folder { relation viewer: user }\ndefinition doc { relation viewer: user  permission view = viewer }';

for (const [name, open] of KEYED_DATASTORES) {
  t.test(`keys held to resource types and to a rate (${name})`, async (t) => {
    const { ds, address } = await keyedServer(t, open);
    const admin = await createKey(ds.access, 'default', ['admin']);
    const full = apiClient(address, (await createKey(ds.access, 'default', ['check', 'read', 'write', 'schema'])).token);
    t.teardown(() => full.close());
    await full.schema.WriteSchema({ schema: SCHEMA });
    const made = await serviceCall(address, admin.token, 'KeyService', 'CreateKey', { tenant: 'default', scopes: ['check', 'read', 'write'], resource_types: ['doc'], max_rate_per_second: 0 });
    t.same(made.key.resource_types, ['doc'], 'listed with its types');
    const docs = apiClient(address, made.secret);
    t.teardown(() => docs.close());
    const denied = { code: 7, details: /may only act on resource types doc/ };

    t.ok(await docs.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@user:ann') }] }), 'writes to doc');
    await t.rejects(docs.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('folder:f#viewer@user:ann') }] }), denied, 'not to folder');
    t.ok(await docs.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') }), 'checks doc');
    await t.rejects(docs.permission.Check({ resource: obj('folder:f'), permission: 'viewer', subject: subj('user:ann') }), denied, 'not folder');
    await t.rejects(docs.permission.BatchCheck({ items: [{ resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') }, { resource: obj('folder:f'), permission: 'viewer', subject: subj('user:ann') }] }), denied, 'not a batch with a folder in it');
    t.same((await docs.permission.ListObjects({ consistency: { fully_consistent: true }, resource_type: 'doc', permission: 'view', subject: subj('user:ann') })).map((r: any) => r.object_id), ['a'], 'lists doc');
    await t.rejects(docs.schema.ReadSchema({}), { code: 7, details: /names none/ }, 'a call that names no type is refused');
    await t.rejects(docs.relationship.Import([{ relationships: [relMsg('doc:b#viewer@user:ann')] }]), { code: 7 }, 'and a stream it cannot see whole');
    const rotated = await serviceCall(address, admin.token, 'KeyService', 'RotateKey', { id: made.key.id });
    t.same(rotated.key.resource_types, ['doc'], 'a rotated key keeps its types');

    // A rate of its own; another key of the tenant is not held to it.
    const slowKey = await serviceCall(address, admin.token, 'KeyService', 'CreateKey', { tenant: 'default', scopes: ['check'], max_rate_per_second: 2 });
    const slow = apiClient(address, slowKey.secret);
    t.teardown(() => slow.close());
    const ask = (c: typeof slow) => c.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') });
    const outcomes = await Promise.allSettled([ask(slow), ask(slow), ask(slow), ask(slow), ask(slow)]);
    const refused = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
    t.ok(refused.length >= 2, `past 2 a second, refused (${refused.length} of 5)`);
    t.match(refused[0]!.reason, { code: 8, details: /this API key is over its request rate \(2 calls a second\)/ });
    t.ok((await Promise.allSettled(Array.from({ length: 6 }, () => ask(full)))).every((o) => o.status === 'fulfilled'), 'another key is not');

    // Calls running at once: a key allowed one, holding a Watch open, is refused a second call until it ends.
    const oneKey = await serviceCall(address, admin.token, 'KeyService', 'CreateKey', { tenant: 'default', scopes: ['check', 'read'], max_in_flight: 1 });
    t.equal(oneKey.key.max_in_flight, 1);
    const one = apiClient(address, oneKey.secret);
    t.teardown(() => one.close());
    const md = new Metadata();
    md.set('authorization', `Bearer ${oneKey.secret}`);
    const WatchClient = serviceClient(loadApi().v1, 'WatchService');
    const watchClient = new WatchClient(address, credentials.createInsecure()) as any;
    const watch = watchClient.Watch({}, md);
    watch.on('error', () => {});
    await new Promise((r) => setTimeout(r, 300));
    await t.rejects(ask(one), { code: 8, details: /this API key has 1 calls running, its most/ }, 'a second call while one runs');
    watch.cancel();
    watchClient.close();
    await new Promise((r) => setTimeout(r, 200));
    t.ok(await ask(one), 'and allowed once it ends');
  });
}
