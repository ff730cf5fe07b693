import { status } from '@grpc/grpc-js';
import t from 'tap';
import { Admission } from '../../src/server/admission.js';
import { keyAuthenticate } from '../../src/server/auth.js';
import { TenantRateLimit } from '../../src/server/rate-limit.js';
import { createKey } from '../../src/store/access.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import type { MemoryStore } from '../../src/store/memory/memory-store.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';

t.test('an overloaded server sheds calls at once instead of making every caller wait', async (t) => {
  const ds = await openDatastore('memory');
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 0, log: () => {}, admission: { maxInFlight: 1, maxQueued: 1 } }, '127.0.0.1:0');
  const api = apiClient(`127.0.0.1:${server.port}`);
  t.teardown(async () => {
    api.close();
    await server.shutdown(500);
  });
  await api.schema.WriteSchema({ schema: 'definition user {}\ndefinition doc { relation viewer: user }' });
  await api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@user:ann') }] });
  // Every store read now takes 300 ms: a Check holds its turn that long.
  const store = ds.store('default') as MemoryStore;
  const snapshot = store.snapshot.bind(store);
  let reads = 0;
  store.snapshot = (rev) => {
    const r = snapshot(rev);
    return { revision: r.revision, query: async (f) => (reads++, await new Promise((res) => setTimeout(res, 300)), r.query(f)) };
  };
  const check = (deadlineMs = 10_000) => api.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:a'), permission: 'viewer', subject: subj('user:ann') }, { deadline: Date.now() + deadlineMs });
  const running = check();
  await new Promise((r) => setTimeout(r, 50));
  const waiting = check();
  await new Promise((r) => setTimeout(r, 50));
  const started = Date.now();
  const refused = await check().then(
    () => null,
    (e: { code: number; details: string; metadata: { get(k: string): unknown[] } }) => e,
  );
  t.equal(refused?.code, status.RESOURCE_EXHAUSTED, 'the third call is refused');
  t.ok(Date.now() - started < 200, 'at once');
  t.match(refused!.details, /at capacity \(1 calls running, 1 waiting\)/);
  t.equal(refused!.metadata.get('grpc-retry-pushback-ms')[0], '100', 'with retry advice');
  t.equal((await running).permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
  t.equal((await waiting).permissionship, 'PERMISSIONSHIP_HAS_PERMISSION', 'the waiting call ran in its turn');
  // A waiting call whose caller gives up leaves the queue without running.
  const readsBefore = reads;
  const busy = check();
  await new Promise((r) => setTimeout(r, 50));
  await t.rejects(check(100), { code: status.DEADLINE_EXCEEDED });
  await busy;
  await new Promise((r) => setTimeout(r, 100));
  t.equal(reads, readsBefore + 1, 'only the running call read the store: the abandoned one never ran');
});

t.test('admission: turns are first come, first served, and a release lets the next in', async (t) => {
  const a = new Admission({ maxInFlight: 2, maxQueued: 2 });
  const signal = new AbortController().signal;
  const r1 = await a.enter(signal);
  const r2 = await a.enter(signal);
  const order: number[] = [];
  const w3 = a.enter(signal).then((r) => (order.push(3), r));
  const w4 = a.enter(signal).then((r) => (order.push(4), r));
  await t.rejects(a.enter(signal), { code: 'RESOURCE_EXHAUSTED' });
  t.same(a.load, { inFlight: 2, queued: 2 });
  r1();
  r1();
  const r3 = await w3;
  t.same(a.load, { inFlight: 2, queued: 1 }, 'a release twice frees one turn');
  r2();
  (await w4)();
  r3();
  t.same(order, [3, 4]);
  t.same(a.load, { inFlight: 0, queued: 0 });
});

t.test('admission is fair between tenants: turns go round them, and one cannot fill the queue', async (t) => {
  const a = new Admission({ maxInFlight: 2, maxQueued: 4 });
  const signal = new AbortController().signal;
  // Tenant noisy takes both turns and fills the whole queue (alone, it may).
  const running = [await a.enter(signal, 'noisy'), await a.enter(signal, 'noisy')];
  const order: string[] = [];
  const waits: Promise<(() => void) | 'refused'>[] = [];
  for (let i = 0; i < 4; i++) waits.push(a.enter(signal, 'noisy').then((r) => (order.push(`noisy${i}`), r), () => 'refused' as const));
  await t.rejects(a.enter(signal, 'noisy'), { code: 'RESOURCE_EXHAUSTED', message: /at capacity/ }, 'the queue is full');
  // Another tenant still gets in line (noisy's newest waiting call makes room), and is served at
  // the next free turn, ahead of noisy's queue.
  const quiet = a.enter(signal, 'quiet').then((r) => (order.push('quiet'), r));
  t.equal(await waits[3], 'refused', "noisy's newest waiting call was refused to make room");
  t.same(a.load, { inFlight: 2, queued: 4 });
  running[0]!();
  running[1]!();
  const n0 = (await waits[0]) as () => void;
  (await quiet)();
  t.same(order, ['noisy0', 'quiet'], "turns go round the tenants: quiet's one call is served second, not after all of noisy's");
  n0();
  for (const w of waits.slice(1, 3)) ((await w) as () => void)();
  t.same(order, ['noisy0', 'quiet', 'noisy1', 'noisy2']);
  t.same(a.load, { inFlight: 0, queued: 0 });
  const capped = new Admission({ maxInFlight: 1, maxQueued: 8, maxQueuedPerTenant: 1 });
  const held = await capped.enter(signal, 'a');
  const next = capped.enter(signal, 'a');
  await t.rejects(capped.enter(signal, 'a'), { code: 'RESOURCE_EXHAUSTED', message: /this tenant has 1 calls waiting, its most/ }, '--max-queued-per-tenant');
  held();
  (await next)();
});

t.test('a tenant may run at most its own share at once; the others get the rest', async (t) => {
  const a = new Admission({ maxInFlight: 3, maxQueued: 8, maxInFlightPerTenant: 2 });
  const signal = new AbortController().signal;
  const n1 = await a.enter(signal, 'noisy');
  await a.enter(signal, 'noisy');
  let third = false;
  const n3 = a.enter(signal, 'noisy').then((r) => ((third = true), r));
  await new Promise((r) => setTimeout(r, 10));
  t.notOk(third, 'a third call of noisy waits though a turn is free');
  const q = await a.enter(signal, 'quiet');
  t.same(a.load, { inFlight: 3, queued: 1 }, 'quiet took the free turn at once');
  q();
  await new Promise((r) => setTimeout(r, 10));
  t.notOk(third, 'still: noisy is at its share');
  n1();
  (await n3)();
  t.ok(third);
});

t.test('a request rate per tenant: a token bucket, refusals say when to retry', async (t) => {
  let now = 1_000_000;
  const limit = new TenantRateLimit(2, { now: () => now });
  limit.take('a');
  limit.take('a');
  t.throws(() => limit.take('a'), { code: 'RESOURCE_EXHAUSTED', retryAfterMs: 500, message: /over its request rate \(2 calls a second\): retry in 500 ms/ });
  limit.take('b');
  t.pass('another tenant is not limited by the first');
  now += 500;
  limit.take('a');
  t.pass('a token comes back after 1/rate seconds');
  t.throws(() => limit.take('a'), { code: 'RESOURCE_EXHAUSTED' });
  now += 10_000;
  limit.take('a');
  limit.take('a');
  t.throws(() => limit.take('a'), { code: 'RESOURCE_EXHAUSTED' }, 'the burst is one second\'s worth, however long it was idle');
});

t.test('--max-rate-per-tenant through the server: one tenant refused, the other served', async (t) => {
  const ds = await openDatastore('memory');
  await ds.migrate();
  await ds.access.createTenant('noisy');
  await ds.access.createTenant('quiet');
  const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access), log: () => {}, admission: { maxInFlight: 8, maxQueued: 8, maxRatePerTenant: 2 } }, '127.0.0.1:0');
  const noisy = apiClient(`127.0.0.1:${server.port}`, (await createKey(ds.access, 'noisy', ['schema', 'read'])).token);
  const quiet = apiClient(`127.0.0.1:${server.port}`, (await createKey(ds.access, 'quiet', ['schema', 'read'])).token);
  t.teardown(async () => {
    noisy.close();
    quiet.close();
    await server.shutdown(500);
  });
  const schema = 'definition user {}';
  await noisy.schema.WriteSchema({ schema });
  await noisy.schema.WriteSchema({ schema });
  const refused = await noisy.schema.WriteSchema({ schema }).then(
    () => null,
    (e: { code: number; details: string; metadata: { get(k: string): unknown[] } }) => e,
  );
  t.equal(refused?.code, status.RESOURCE_EXHAUSTED, 'the third call in a second is refused');
  t.match(refused!.details, /over its request rate/);
  t.ok(Number(refused!.metadata.get('grpc-retry-pushback-ms')[0]) > 0, 'with the time to retry');
  await quiet.schema.WriteSchema({ schema });
  t.pass('the other tenant is served');
});
