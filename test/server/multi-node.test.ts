import t from 'tap';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';
import { databaseWithKey } from '../helpers/postgres.js';
import { serveProcess } from '../helpers/warden-process.js';

// Three `warden serve` processes on one PostgreSQL and one Redis (the shared check cache; its keys
// carry this database's own datastore id, so runs never share entries), as a multi-node
// deployment runs them: a write through one node is seen by the others at its zookie,
// a schema change within the quantization window, and losing a node disturbs nobody else.

const SCHEMA = 'definition user {}\ndefinition doc {\n  relation viewer: user\n  permission view = viewer\n}';
const QUANTIZATION_MS = 500;

t.test('three nodes on one PostgreSQL answer alike, and one lost disturbs none of the others', async (t) => {
  const { url, token } = await databaseWithKey(t);
  const args = ['--datastore', url, '--address', '127.0.0.1:0', '--workers', '1', '--grace-ms', '200', '--quantization-ms', String(QUANTIZATION_MS), '--cache-redis', 'redis://127.0.0.1:6379'];
  const nodes = await Promise.all([serveProcess(t, args), serveProcess(t, args), serveProcess(t, args)]);
  const [a, b, c] = nodes.map((n) => apiClient(n.address, token, true));
  t.teardown(() => [a, b, c].forEach((x) => x!.close()));

  const schema = await a!.schema.WriteSchema({ schema: SCHEMA });
  t.match((await b!.schema.ReadSchema({ consistency: { at_least_as_fresh: schema.written_at } })).schema, /permission view/, 'B reads the schema A wrote, at its zookie');
  // Without a zookie, the other nodes see it within the quantization window.
  const started = Date.now();
  let seen = false;
  while (!seen && Date.now() - started < 4 * QUANTIZATION_MS + 2000) {
    seen = await c!.schema.ReadSchema({ consistency: { minimize_latency: true } }).then(() => true, () => false);
    if (!seen) await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(seen, `C sees the schema at minimize_latency after ${Date.now() - started} ms (quantization ${QUANTIZATION_MS} ms)`);

  const check = (node: typeof a, zookie: unknown, who: string) =>
    node!.permission.Check({ consistency: { at_least_as_fresh: zookie }, resource: obj('doc:plan'), permission: 'view', subject: subj(`user:${who}`) }).then((r: { permissionship: string }) => r.permissionship);
  const w1 = await a!.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:plan#viewer@user:ann') }] });
  t.equal(await check(b, w1.written_at, 'ann'), 'PERMISSIONSHIP_HAS_PERMISSION', 'a write through A, checked at its zookie through B');
  t.equal(await check(c, w1.written_at, 'ann'), 'PERMISSIONSHIP_HAS_PERMISSION', 'and through C');
  // Cached answers never hide a newer write: B and C answered (and cached) at w1; a delete through A is seen at its zookie.
  const w2 = await a!.relationship.Write({ updates: [{ operation: 'OPERATION_DELETE', relationship: relMsg('doc:plan#viewer@user:ann') }] });
  t.equal(await check(b, w2.written_at, 'ann'), 'PERMISSIONSHIP_NO_PERMISSION', 'the delete through A, at its zookie through B');
  t.equal(await check(c, w2.written_at, 'ann'), 'PERMISSIONSHIP_NO_PERMISSION', 'and through C');

  nodes[1]!.child.kill('SIGKILL');
  await new Promise((r) => nodes[1]!.child.once('exit', r));
  const w3 = await c!.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:plan#viewer@user:bob') }] });
  t.equal(await check(a, w3.written_at, 'bob'), 'PERMISSIONSHIP_HAS_PERMISSION', 'with B killed, a write through C is seen through A');
  t.equal(await check(c, w3.written_at, 'bob'), 'PERMISSIONSHIP_HAS_PERMISSION', 'and C answers');
  await t.rejects(check(b, w3.written_at, 'bob'), 'B is gone');
});
