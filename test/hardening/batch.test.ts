import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { subject } from '../../src/model/relationship.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';
import { world } from '../helpers/world.js';

const SCHEMA = `caveat weekday(day string) { day != 'sun' }
definition user {}
definition group { relation member: user | group#member }
definition folder { relation viewer: group#member }
definition doc {
  relation parent: folder
  relation viewer: user | user with weekday
  permission view = viewer + parent->viewer
}`;

const N = 1000;
const rels = [
  'group:eng#member@user:ann',
  'folder:f#viewer@group:eng#member',
  ...Array.from({ length: N }, (_, i) => `doc:d${i}#parent@folder:f`),
];

t.test('a batch of checks on many resources is one batched walk: the work does not grow with the items', async (t) => {
  const w = await world(SCHEMA, rels);
  const engine = new Engine();
  const ids = Array.from({ length: N }, (_, i) => `d${i}`);
  const results = await engine.checkMany(w, { resourceType: 'doc', resourceIds: ids, permission: 'view', subject: subject('user', 'ann') });
  t.equal([...results.values()].filter((c) => c.op === 'true').length, N, 'every item answered');
  const batched = w.reads.length;
  t.ok(batched <= 8, `${batched} reads for ${N} items`);
  w.reads.length = 0;
  for (const id of ids.slice(0, 50)) await engine.check(w, { resource: { type: 'doc', id }, permission: 'view', subject: subject('user', 'ann') });
  t.ok(w.reads.length >= 50 * 2, `one by one, 50 items take ${w.reads.length} reads`);
});

t.test('BatchCheck groups items but decides each with its own context and reports each error on its own', async (t) => {
  const ds = await openDatastore('memory');
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 0, log: () => {} }, '127.0.0.1:0');
  const api = apiClient(`127.0.0.1:${server.port}`);
  t.teardown(async () => {
    api.close();
    await server.shutdown(500);
  });
  await api.schema.WriteSchema({ schema: SCHEMA });
  await api.relationship.Write({
    updates: [
      { operation: 'OPERATION_TOUCH', relationship: { ...relMsg('doc:c#viewer@user:bob'), optional_caveat: { caveat_name: 'weekday', context: null } } },
      { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:o#viewer@user:bob') },
    ],
  });
  const item = (doc: string, day?: string) => ({
    resource: obj(doc),
    permission: 'view',
    subject: subj('user:bob'),
    context: day ? { fields: { day: { stringValue: day } } } : null,
  });
  const r = await api.permission.BatchCheck({
    consistency: { fully_consistent: true },
    items: [item('doc:c', 'mon'), item('doc:c', 'sun'), item('doc:c'), item('doc:o'), item('doc:x'), { ...item('doc:o'), permission: 'nope' }, item('doc:c', 'x'.repeat(5000))],
  });
  t.same(
    r.results.map((x: any) => (x.result === 'item' ? x.item.permissionship.replace('PERMISSIONSHIP_', '') : `error ${x.error.code}`)),
    ['HAS_PERMISSION', 'NO_PERMISSION', 'CONDITIONAL_PERMISSION', 'HAS_PERMISSION', 'NO_PERMISSION', 'error 9', 'error 3'],
  );
  t.match(r.results[6].error.message, /items\[6\]\.context: is \d+ bytes/);
});
