import t from 'tap';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer } from '../../src/server/server.js';
import { createKey } from '../../src/store/access.js';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { DecisionLog, parseDecisionFilter, type DecisionRecord } from '../../src/telemetry/decision-log.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';

t.test('the decision filter: parts, lists, and clear errors', async (t) => {
  t.equal(parseDecisionFilter('off'), null);
  t.match(parseDecisionFilter('rate=0.25,types=document|folder,results=no'), { rate: 0.25, types: new Set(['document', 'folder']), permissions: null, results: new Set(['no']) });
  t.throws(() => parseDecisionFilter('rate=0'), /rate must be above 0/);
  t.throws(() => parseDecisionFilter('results=maybe'), /results are has, no or conditional/);
  t.throws(() => parseDecisionFilter('colour=red'), /unknown part `colour`/);
  const kept: DecisionRecord[] = [];
  let coin = 0;
  const log = new DecisionLog(parseDecisionFilter('rate=0.5')!, (r) => kept.push(r), () => (coin++ % 2 ? 0.9 : 0.1));
  for (let i = 0; i < 10; i++) log.record({ tenant: 't', keyId: 'k', resource: `doc:${i}`, permission: 'view', subject: 'user:a', result: 'has', revision: '1', requestId: '' });
  t.equal(kept.length, 5, 'sampled at the rate');
});

t.test('Check and BatchCheck decisions reach the log, filtered, with the key and the revision', async (t) => {
  const ds = new MemoryDatastore();
  const lines: DecisionRecord[] = [];
  const server = await startServer(
    { datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 0 }), log: () => {}, decisions: new DecisionLog(parseDecisionFilter('types=doc,results=no')!, (r) => lines.push(r)) },
    '127.0.0.1:0',
  );
  const key = await createKey(ds.access, 'default', ['check', 'write', 'schema']);
  const api = apiClient(`127.0.0.1:${server.port}`, key.token);
  t.teardown(async () => {
    api.close();
    await server.shutdown(500);
  });
  await api.schema.WriteSchema({ schema: 'definition user {}\ndefinition folder { relation viewer: user }\ndefinition doc { relation viewer: user  permission view = viewer }' });
  await api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@user:ann') }] });
  const full = { fully_consistent: true };
  await api.permission.Check({ consistency: full, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') });
  const denied = await api.permission.Check({ consistency: full, resource: obj('doc:a'), permission: 'view', subject: subj('user:bob') });
  await api.permission.Check({ consistency: full, resource: obj('folder:f'), permission: 'viewer', subject: subj('user:bob') });
  await api.permission.BatchCheck({ consistency: full, items: [{ resource: obj('doc:b'), permission: 'view', subject: subj('user:ann') }] });
  t.same(
    lines.map((l) => `${l.resource}#${l.permission}@${l.subject} ${l.result}`),
    ['doc:a#view@user:bob no', 'doc:b#view@user:ann no'],
    'only denials on doc, from Check and BatchCheck',
  );
  t.match(lines[0], { tenant: 'default', keyId: key.info.id, requestId: /\S/ });
  t.ok(denied.checked_at.token, 'answered as usual');
});
