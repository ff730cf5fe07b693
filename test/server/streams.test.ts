import { credentials, Metadata, status } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { loadPackageDefinition } from '@grpc/grpc-js';
import { protoPath as healthProto } from 'grpc-health-check';
import t from 'tap';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { loadApi, serviceClient } from '../../src/server/proto.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';

const SCHEMA = `definition user {}
definition team { relation member: user }
definition doc { relation viewer: user | team#member  relation parent: doc  permission view = viewer + parent->view }`;

t.test('Import, Export, Watch, health and reflection over PostgreSQL', async (t) => {
  const ds = await openDatastore(await freshDatabase(t));
  await ds.migrate();
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), log: () => {} }, '127.0.0.1:0');
  const address = `127.0.0.1:${server.port}`;
  const api = apiClient(address);
  t.teardown(async () => {
    api.close();
    await server.shutdown(1000);
    await ds.close();
  });
  await api.schema.WriteSchema({ schema: SCHEMA });

  await t.test('Import loads chunks in one transaction; a bad relationship fails it and nothing lands', async (t) => {
    const chunk = (from: number) => ({ relationships: Array.from({ length: 500 }, (_, i) => relMsg(`doc:d${from + i}#viewer@user:u${(from + i) % 13}`)) });
    const r = await api.relationship.Import([chunk(0), chunk(500), { relationships: [relMsg('team:t#member@user:u1')] }]);
    t.equal(r.count, '1001');
    await t.rejects(api.relationship.Import([chunk(2000), { relationships: [relMsg('doc:x#viewer@doc:y')] }]), {
      code: status.FAILED_PRECONDITION,
      details: /relationships\[500\]: subjects `doc` are not allowed/,
    });
    await t.rejects(api.relationship.Import([{ relationships: [relMsg('doc:d1#viewer@user:u1')] }]), { code: status.ALREADY_EXISTS });
    const count = (await api.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc', optional_resource_id: 'd2000' } })).length;
    t.equal(count, 0, 'the failed import left nothing');
  });

  await t.test('Export streams everything in pages and resumes from a cursor', async (t) => {
    const pages = await api.relationship.Export({ consistency: { fully_consistent: true }, page_size: 300 });
    const all = pages.flatMap((p: any) => p.relationships.map((r: any) => `${r.resource.object_type}:${r.resource.object_id}@${r.subject.object.object_id}`));
    t.equal(all.length, 1001);
    t.equal(new Set(all).size, 1001);
    t.equal(pages.at(-1).cursor, '');
    const resumed = await api.relationship.Export({ page_size: 300, cursor: pages[1].cursor });
    const rest = resumed.flatMap((p: any) => p.relationships.map((r: any) => `${r.resource.object_type}:${r.resource.object_id}@${r.subject.object.object_id}`));
    t.same(rest, all.slice(600), 'resumes exactly after page two');
  });

  await t.test('Watch streams committed changes after a zookie, filtered by type, with heartbeats', async (t) => {
    const start = await api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:w0#viewer@user:a') }] });
    const { v1 } = loadApi();
    const Watch = serviceClient(v1, 'WatchService');
    const client = new Watch(address, credentials.createInsecure()) as any;
    const got: any[] = [];
    const call = client.Watch({ optional_start: start.written_at, optional_resource_types: ['doc'], heartbeat_ms: 200 }, new Metadata(), { deadline: Date.now() + 20_000 });
    call.on('data', (d: any) => got.push(d));
    call.on('error', () => {});
    await api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('team:t#member@user:z') }] });
    const w = await api.relationship.Write({
      updates: [{ operation: 'OPERATION_DELETE', relationship: relMsg('doc:w0#viewer@user:a') }, { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:w1#viewer@user:b') }],
      metadata: { fields: { by: { stringValue: 'watcher-test' } } },
    });
    for (let i = 0; i < 50 && !got.some((g) => g.is_heartbeat && g.changes_through.token); i++) await new Promise((r) => setTimeout(r, 100));
    call.cancel();
    client.close();
    const changes = got.filter((g) => !g.is_heartbeat);
    t.equal(changes.length, 1, 'the team change is filtered out; the doc write arrives once');
    t.same(
      changes[0].changes.map((c: any) => `${c.operation} ${c.relationship.resource.object_id}@${c.relationship.subject.object.object_id}`).sort(),
      ['OPERATION_DELETE w0@a', 'OPERATION_TOUCH w1@b'],
    );
    t.equal(changes[0].changes_through.token, w.written_at.token);
    t.equal(changes[0].metadata.fields.by.stringValue, 'watcher-test');
    t.ok(got.some((g) => g.is_heartbeat), 'heartbeats carry a zookie when nothing changes');
  });

  await t.test('health and reflection answer', async (t) => {
    const health = loadPackageDefinition(loadSync(healthProto, { enums: String })) as any;
    const c = new health.grpc.health.v1.Health(address, credentials.createInsecure());
    const res: any = await new Promise((resolve, reject) => c.Check({ service: 'warden.v1.PermissionService' }, (e: unknown, r: unknown) => (e ? reject(e) : resolve(r))));
    t.equal(res.status, 'SERVING');
    c.close();
    const reflection = loadPackageDefinition(
      loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, includeDirs: [new URL('../../node_modules/@grpc/reflection/build/proto', import.meta.url).pathname] }),
    ) as any;
    const r = new reflection.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
    const stream = r.ServerReflectionInfo();
    const answer: any = await new Promise((resolve, reject) => {
      stream.on('data', resolve);
      stream.on('error', reject);
      stream.write({ list_services: '' });
    });
    stream.end();
    r.close();
    const names = answer.list_services_response.service.map((s: any) => s.name);
    t.ok(names.includes('warden.v1.PermissionService') && names.includes('warden.v1.WatchService'), names.join(', '));
  });

  await t.test('a cancelled lookup stops consuming the store', async (t) => {
    // A long chain of parents makes ListObjects walk level by level; cancel it early.
    const updates = Array.from({ length: 40 }, (_, i) => ({ operation: 'OPERATION_TOUCH', relationship: relMsg(`doc:c${i + 1}#parent@doc:c${i}`) }));
    await api.relationship.Write({ updates: [...updates, { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:c0#viewer@user:deep') }] });
    const store = ds.store('default');
    const original = store.constructor.prototype;
    let reads = 0;
    const query = original.snapshot;
    original.snapshot = function (this: unknown, rev: string) {
      const r = query.call(this, rev);
      return { revision: r.revision, query: async (f: unknown) => (reads++, await new Promise((res) => setTimeout(res, 20)), r.query(f)) };
    };
    t.teardown(() => void (original.snapshot = query));
    const { v1 } = loadApi();
    const P = serviceClient(v1, 'PermissionService');
    const client = new P(address, credentials.createInsecure()) as any;
    const call = client.ListObjects({ consistency: { fully_consistent: true }, resource_type: 'doc', permission: 'view', subject: subj('user:deep') }, new Metadata());
    const ended = new Promise((resolve) => {
      call.on('error', resolve);
      call.on('end', resolve);
    });
    await new Promise((r) => setTimeout(r, 150));
    call.cancel();
    await ended;
    const atCancel = reads;
    await new Promise((r) => setTimeout(r, 500));
    client.close();
    t.ok(atCancel > 0, `it had started reading (${atCancel} reads)`);
    t.ok(reads <= atCancel + 1, `and stopped after the cancel (${reads} reads in all)`);
    t.equal(obj('doc:c0').object_id, 'c0');
  });
});
