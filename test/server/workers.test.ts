import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { createKey } from '../../src/store/access.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

t.test('warden serve --workers 2 on PostgreSQL: one port, every worker consistent, a dead worker replaced, a clean stop', async (t) => {
  const url = await freshDatabase(t);
  const ds = await openDatastore(url);
  await ds.migrate();
  const token = (await createKey(ds.access, 'default', ['check', 'read', 'write', 'schema'])).token;
  await ds.close();
  const server = spawn(NODE, nodeArgs(bin, 'serve', '--address', '127.0.0.1:0', '--datastore', url, '--workers', '2', '--pg-pool-size', '3', '--grace-ms', '500', '--metrics-address', '127.0.0.1:0'), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  const exited = new Promise<number | null>((resolve) => server.once('exit', (code) => resolve(code)));
  t.teardown(() => {
    if (server.exitCode === null) server.kill('SIGKILL');
  });
  const waitFor = async (re: RegExp, from = 0): Promise<RegExpExecArray> => {
    for (let i = 0; i < 300; i++) {
      const m = re.exec(log.slice(from));
      if (m) return m;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${re} in the log:\n${log}`);
  };
  server.stderr.on('data', (d) => (log += String(d)));
  const address = (await waitFor(/"address":"([^"]+)","workers":2,"msg":"serving"/))[1]!;
  const workers = [...log.matchAll(/"worker":(\d),"pid":(\d+),"msg":"worker serving"/g)].map((m) => ({ slot: Number(m[1]), pid: Number(m[2]) }));
  t.same(workers.map((w) => w.slot).sort(), [1, 2], 'two workers, slots 1 and 2');
  t.equal(new Set(workers.map((w) => w.pid)).size, 2, 'two processes');

  const writer = apiClient(address, token, true);
  t.teardown(() => writer.close());
  await writer.schema.WriteSchema({ schema: 'definition user {}\ndefinition doc { relation viewer: user\n permission view = viewer }' });
  const w = await writer.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@user:ann') }] });
  // Each new connection goes to one worker or the other (the cluster hands them out in turn):
  // a zookie from one worker is honoured by every worker.
  const ask = async (): Promise<string> => {
    const c = apiClient(address, token, true);
    try {
      return (await c.permission.Check({ consistency: { at_least_as_fresh: w.written_at }, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') })).permissionship;
    } finally {
      c.close();
    }
  };
  const answers = [];
  for (let i = 0; i < 8; i++) answers.push(await ask());
  t.same(new Set(answers), new Set(['PERMISSIONSHIP_HAS_PERMISSION']), 'every connection, whichever worker, sees the write');

  // The primary serves the ops endpoint for both: metrics merged with a worker label, ready when both are.
  const ops = `http://127.0.0.1:${(await waitFor(/"address":"127\.0\.0\.1:(\d+)","paths":\["\/metrics"/))[1]}`;
  const metrics = await (await fetch(`${ops}/metrics`)).text();
  const checks = [...metrics.matchAll(/^rpc_server_duration_count\{worker="(\d)",[^}]*rpc_method="Check",rpc_grpc_status_code="0"[^}]*\} (\d+)/gm)];
  t.same(checks.map((m) => m[1]).sort(), ['1', '2'], 'each worker\'s Check latency, labelled by worker');
  t.equal(checks.reduce((n, m) => n + Number(m[2]), 0), 8, 'together they count every Check');
  t.equal((metrics.match(/^# TYPE rpc_server_duration histogram$/gm) ?? []).length, 1, 'each family declared once');
  t.match(metrics, /^warden_store_pool_connections\{worker="1",[^}]*pool="primary"[^}]*state="total"[^}]*\} \d+/m, 'PostgreSQL pool use, per worker');
  const ready = await fetch(`${ops}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { status: 'ready', workers: [{ worker: 1, ready: true }, { worker: 2, ready: true }] });

  // A worker killed outright is started again in its slot; the port keeps answering meanwhile.
  const victim = workers.find((x) => x.slot === 1)!;
  const mark = log.length;
  process.kill(victim.pid, 'SIGKILL');
  await waitFor(/"slot":1,.*"msg":"a worker died: starting it again"/, mark);
  t.equal(await ask(), 'PERMISSIONSHIP_HAS_PERMISSION', 'still answering with a worker down');
  const again = await waitFor(/"worker":1,"pid":(\d+),"msg":"worker serving"/, mark);
  t.not(Number(again[1]), victim.pid, 'slot 1 has a new process');
  for (let i = 0; i < 4; i++) t.equal(await ask(), 'PERMISSIONSHIP_HAS_PERMISSION');

  // SIGTERM to the primary stops every worker, gracefully, and the primary exits 0.
  writer.close();
  const pids = [Number(again[1]), workers.find((x) => x.slot === 2)!.pid];
  server.kill('SIGTERM');
  t.equal(await exited, 0, 'the primary exits 0');
  t.equal((log.match(/"msg":"shutting down"/g) ?? []).length, 2, 'both workers shut down gracefully');
  t.same(pids.filter(alive), [], 'no worker is left running');
});

t.test('--workers with the embedded store says it serves from one process', async (t) => {
  const server = spawn(NODE, nodeArgs(bin, 'serve', '--address', '127.0.0.1:0', '--datastore', 'memory', '--workers', '2', '--insecure-no-auth'), { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  server.stderr.on('data', (d) => (log += String(d)));
  const exited = new Promise((resolve) => server.once('exit', resolve));
  for (let i = 0; i < 200 && !log.includes('"msg":"serving"'); i++) await new Promise((r) => setTimeout(r, 50));
  server.kill('SIGTERM');
  await exited;
  t.match(log, /--workers is ignored/);
  t.notMatch(log, /worker serving/, 'one process');
});
