import { Writable } from 'node:stream';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import t, { type Test } from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { startOpsServer } from '../../src/server/ops-server.js';
import { loadApi, serviceClient } from '../../src/server/proto.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';

const SCHEMA = `definition user {}
definition group { relation member: user | group#member }
definition folder {
  relation parent: folder
  relation viewer: user | group#member
  permission view = viewer + parent->view
}
definition doc {
  relation parent: folder
  relation viewer: user
  permission view = viewer + parent->view
}`;

/** A server with every telemetry part on: spans to memory, Prometheus, JSON logs at debug into `lines`. */
async function telemetryServer(t: Test) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      done();
    },
  });
  const logger = createLogger({ logLevel: 'debug', logFormat: 'json' }, sink);
  const spans = new InMemorySpanExporter();
  const telemetry = await Telemetry.start({ logger, prometheus: true, spanExporter: spans, traceSampleRatio: 1 });
  const ds = new MemoryDatastore();
  await ds.migrate();
  const errors: unknown[] = [];
  const server = await startServer(
    {
      datastore: ds,
      authenticate: insecureAuthenticate(),
      quantizationMs: 0,
      telemetry,
      engine: new Engine({ cacheBytes: 1 << 20, observer: telemetry.engineObserver() }),
      log: (e, method, requestId) => (errors.push(e), logger.error({ method, requestId, error: String(e) }, 'internal error')),
    },
    '127.0.0.1:0',
  );
  const ops = await startOpsServer('127.0.0.1:0', { metrics: telemetry.metricsText, readiness: () => server.readiness.state });
  const api = apiClient(`127.0.0.1:${server.port}`);
  t.teardown(async () => {
    api.close();
    await ops.close();
    await server.shutdown(100);
    await telemetry.shutdown();
  });
  await api.schema.WriteSchema({ schema: SCHEMA });
  await api.relationship.Write({
    updates: ['group:eng#member@user:alice', 'folder:root#viewer@group:eng#member', 'folder:sub#parent@folder:root', 'doc:d#parent@folder:sub'].map((r) => ({ operation: 'OPERATION_TOUCH', relationship: relMsg(r) })),
  });
  spans.reset();
  return { api, spans, lines, ops, server, errors };
}

/** Calls Check through the raw client, returning the answer and the response headers. */
function rawCheck(client: Client, req: unknown, md: Metadata): Promise<{ res: any; headers: Metadata }> {
  return new Promise((resolve, reject) => {
    let headers = new Metadata();
    const call = (client as unknown as Record<string, Function>)['Check']!.call(client, req, md, { deadline: Date.now() + 10_000 }, (err: ServiceError | null, res: unknown) =>
      err ? reject(err) : resolve({ res, headers }),
    );
    call.on('metadata', (m: Metadata) => (headers = m));
  });
}

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_SPAN = '00f067aa0ba902b7';

t.test('a trace of one Check: the RPC, its dispatches, cache lookups and store reads, under the caller\'s trace', async (t) => {
  const { api, spans } = await telemetryServer(t);
  const md = new Metadata();
  md.set('traceparent', `00-${TRACE_ID}-${PARENT_SPAN}-01`);
  md.set('x-request-id', 'req-check-1');
  const { res, headers } = await rawCheck(api.raw['PermissionService']!, { resource: obj('doc:d'), permission: 'view', subject: subj('user:alice'), consistency: { fully_consistent: true } }, md);
  t.equal(res.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
  t.same(headers.get('x-request-id'), ['req-check-1'], 'the request id comes back in the response headers');
  const all = spans.getFinishedSpans();
  const rpc = all.find((s) => s.name === 'PermissionService.Check');
  t.ok(rpc, 'a server span for the RPC');
  if (!rpc) return;
  t.equal(rpc.spanContext().traceId, TRACE_ID, 'in the caller\'s trace (W3C traceparent)');
  t.equal(rpc.parentSpanContext?.spanId, PARENT_SPAN, 'a child of the caller\'s span');
  t.match(rpc.attributes, { 'rpc.system': 'grpc', 'rpc.service': 'PermissionService', 'rpc.method': 'Check', 'rpc.grpc.status_code': 0, 'warden.tenant': 'default', 'warden.request_id': 'req-check-1' });
  t.match(String(rpc.attributes['warden.revision']), /^\d+$/, 'the revision it was answered at');
  const inTrace = all.filter((s) => s.spanContext().traceId === TRACE_ID);
  const byId = new Map(inTrace.map((s) => [s.spanContext().spanId, s]));
  const ancestors = (s: ReadableSpan): string[] => {
    const out: string[] = [];
    for (let p = s.parentSpanContext?.spanId; p && byId.has(p); p = byId.get(p)!.parentSpanContext?.spanId) out.push(byId.get(p)!.name);
    return out;
  };
  const dispatches = inTrace.filter((s) => s.name === 'warden.dispatch.check');
  t.ok(dispatches.length >= 2, `dispatch spans (${dispatches.length})`);
  t.ok(dispatches.every((d) => ancestors(d).includes('PermissionService.Check')), 'every dispatch under the RPC');
  const root = dispatches.find((d) => d.attributes['warden.relation'] === 'view' && d.attributes['warden.resource_type'] === 'doc');
  t.equal(root?.attributes['warden.depth'], 0, 'the top dispatch at depth 0');
  t.ok(dispatches.some((d) => Number(d.attributes['warden.depth']) >= 1 && ancestors(d).includes('warden.dispatch.check')), 'nested dispatches carry their depth, under their parent dispatch');
  const reads = inTrace.filter((s) => s.name === 'warden.store.read');
  t.ok(reads.length >= 2, `store read spans (${reads.length})`);
  t.ok(reads.every((r) => ancestors(r).includes('warden.dispatch.check')), 'store reads under the dispatch that made them');
  t.ok(reads.some((r) => r.attributes['warden.resource_type'] === 'doc' && typeof r.attributes['warden.rows'] === 'number'), 'a read names what it asked and how many rows came back');
  const cache = inTrace.filter((s) => s.name === 'warden.cache.get');
  t.ok(cache.length >= 1 && cache.every((c) => c.attributes['warden.cache.tier'] === 'lru'), 'cache tier lookups');

  // The same check again is answered from the cache: a server span, and no dispatch.
  spans.reset();
  const again = await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:alice'), consistency: { fully_consistent: true } });
  t.equal(again.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
  t.equal(spans.getFinishedSpans().filter((s) => s.name === 'warden.dispatch.check').length, 0, 'a cached answer dispatches nothing');
});

t.test('an untraced caller is sampled at the configured ratio (0: never)', async (t) => {
  const logger = createLogger({ logLevel: 'silent', logFormat: 'json' }, new Writable({ write: (_c, _e, d) => d() }));
  const spans = new InMemorySpanExporter();
  const telemetry = await Telemetry.start({ logger, spanExporter: spans, traceSampleRatio: 0 });
  const ds = new MemoryDatastore();
  await ds.migrate();
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), telemetry, engine: new Engine({ observer: telemetry.engineObserver() }), log: () => {} }, '127.0.0.1:0');
  const api = apiClient(`127.0.0.1:${server.port}`);
  t.teardown(async () => (api.close(), await server.shutdown(100), await telemetry.shutdown()));
  await api.schema.WriteSchema({ schema: SCHEMA });
  await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:alice'), consistency: { fully_consistent: true } });
  t.equal(spans.getFinishedSpans().length, 0, 'nothing recorded');
  const md = new Metadata();
  md.set('traceparent', `00-${TRACE_ID}-${PARENT_SPAN}-01`);
  await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:alice'), consistency: { fully_consistent: true } }, { metadata: md });
  t.ok(spans.getFinishedSpans().some((s) => s.name === 'PermissionService.Check'), 'a caller that sampled its trace is followed');
});

t.test('the Prometheus endpoint serves RPC latency, checks, dispatches, cache, store reads, writes, Watch streams and admission', async (t) => {
  const { api, ops, server } = await telemetryServer(t);
  for (let i = 0; i < 3; i++) await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:alice'), consistency: { fully_consistent: true } });
  await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:bob'), consistency: { fully_consistent: true } });
  await t.rejects(api.permission.Check({ resource: obj('nope:d'), permission: 'view', subject: subj('user:bob') }));
  await api.permission.BatchCheck({
    consistency: { fully_consistent: true },
    items: ['alice', 'bob'].map((u) => ({ resource: obj('doc:d'), permission: 'view', subject: subj(`user:${u}`) })),
  });
  // A Watch open while scraping.
  const Watch = serviceClient(loadApi().v1, 'WatchService');
  const watcher = new Watch(`127.0.0.1:${server.port}`, credentials.createInsecure()) as unknown as Record<string, Function> & Client;
  t.teardown(() => watcher.close());
  const watch = watcher['Watch']!.call(watcher, {}, new Metadata(), {}) as { on(e: string, f: () => void): void; cancel(): void };
  watch.on('error', () => {});
  await new Promise((r) => setTimeout(r, 200));
  const res = await fetch(`http://127.0.0.1:${ops.port}/metrics`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^text\/plain/);
  const text = await res.text();
  watch.cancel();
  const sample = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  t.equal(sample(/^rpc_server_duration_count\{[^}]*rpc_method="Check",rpc_grpc_status_code="0"[^}]*\} (\d+)/m), 4, 'RPC latency histogram per method and code');
  t.equal(sample(/^rpc_server_duration_count\{[^}]*rpc_method="Check",rpc_grpc_status_code="9"[^}]*\} (\d+)/m), 1, 'errors counted under their code');
  t.match(text, /^rpc_server_duration_bucket\{[^}]*rpc_method="Check"[^}]*le="1"[^}]*\} \d+/m, 'with buckets');
  t.equal(sample(/^warden_checks_total\{result="has_permission"[^}]*\} (\d+)/m), 4, 'checks by result, BatchCheck items included');
  t.equal(sample(/^warden_checks_total\{result="no_permission"[^}]*\} (\d+)/m), 2);
  t.equal(sample(/^warden_check_dispatches_count\{[^}]*\} (\d+)/m), 4, 'dispatches per check (of single checks)');
  t.ok(sample(/^warden_check_dispatches_sum\{[^}]*\} (\d+)/m) >= 2);
  t.ok(sample(/^warden_cache_lookups_total\{tier="lru",result="hit"[^}]*\} (\d+)/m) >= 2, 'cache hits per tier');
  t.ok(sample(/^warden_cache_lookups_total\{tier="lru",result="miss"[^}]*\} (\d+)/m) >= 1, 'and misses');
  t.ok(sample(/^warden_store_read_duration_count\{[^}]*\} (\d+)/m) >= 2, 'store read latency');
  t.equal(sample(/^warden_writes_total\{method="RelationshipService.Write"[^}]*\} (\d+)/m), 1, 'writes by method');
  t.equal(sample(/^warden_writes_total\{method="SchemaService.WriteSchema"[^}]*\} (\d+)/m), 1);
  t.equal(sample(/^warden_watch_streams\{[^}]*\} (\d+)/m), 1, 'Watch streams open');
  t.match(text, /^warden_admission_calls\{state="running"[^}]*\} \d+/m, 'admission control');
  t.match(text, /^warden_cache_entries\{[^}]*\} [1-9]/m, 'cache entries');
});

t.test('logs: a request id on every line of a call, taken from x-request-id or made; never a key', async (t) => {
  const { api, lines } = await telemetryServer(t);
  const md = new Metadata();
  md.set('x-request-id', 'abc-123');
  md.set('authorization', 'Bearer wdn_secretsecretsecret');
  await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:alice'), context: { fields: { secret: { stringValue: 'hunter2' } } } }, { metadata: md });
  const calls = lines.filter((l) => l['msg'] === 'call');
  const mine = calls.find((l) => l['requestId'] === 'abc-123');
  t.match(mine, { level: 'debug', method: 'PermissionService.Check', tenant: 'default', code: 0 }, 'the call line carries the caller\'s request id');
  t.ok(calls.every((l) => typeof l['requestId'] === 'string' && String(l['requestId']).length > 0), 'every call line has one');
  const bad = new Metadata();
  bad.set('x-request-id', 'not ok\u0001'.replace('\u0001', '!'));
  await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:alice') }, { metadata: bad });
  const made = lines.filter((l) => l['msg'] === 'call').at(-1)!;
  t.match(made['requestId'], /^[0-9a-f-]{36}$/, 'an unusable request id is replaced by a made one');
  const all = JSON.stringify(lines);
  t.notOk(all.includes('wdn_secret'), 'no key in any line');
  t.notOk(all.includes('hunter2'), 'no caveat context value in any line');
});

t.test('the logger redacts secrets by field name and masks anything shaped like a key', async (t) => {
  const out: string[] = [];
  const logger = createLogger({ logLevel: 'info', logFormat: 'json' }, new Writable({ write: (c, _e, d) => (out.push(String(c)), d()) }));
  logger.info({ key: 'wdn_abcdefghijkl', nested: { token: 't0ken', authorization: 'Bearer x' }, context: { a: 1 }, ok: 'shown' }, 'hello wdn_zyxwvutsrqpon');
  const line = JSON.parse(out.join('')) as Record<string, any>;
  t.equal(line['key'], '[redacted]');
  t.equal(line['nested'].token, '[redacted]');
  t.equal(line['nested'].authorization, '[redacted]');
  t.equal(line['context'], '[redacted]');
  t.equal(line['ok'], 'shown');
  t.equal(line['msg'], 'hello wdn_[redacted]');
  t.equal(line['level'], 'info');
  t.match(line['time'], /^\d{4}-\d\d-\d\dT/);
});

t.test('readiness and liveness over HTTP', async (t) => {
  const { ops, server } = await telemetryServer(t);
  const live = await fetch(`http://127.0.0.1:${ops.port}/healthz`);
  t.equal(live.status, 200);
  const ready = await fetch(`http://127.0.0.1:${ops.port}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { status: 'ready', datastore: 'ok', redis: 'not configured', draining: false });
  t.equal((await fetch(`http://127.0.0.1:${ops.port}/nope`)).status, 404);
  server.readiness.drain();
  const draining = await fetch(`http://127.0.0.1:${ops.port}/readyz`);
  t.equal(draining.status, 503, 'not ready while draining');
  t.match(await draining.json(), { status: 'not ready', draining: true });
  t.equal((await fetch(`http://127.0.0.1:${ops.port}/healthz`)).status, 200, 'but alive');
});
