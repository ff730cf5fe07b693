import { createServer } from 'node:http';
import t from 'tap';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';
import { serveProcess } from '../helpers/warden-process.js';

// `warden serve` as an operator runs it: traces and metrics pushed over OTLP/HTTP to a collector
// (here a plain HTTP server that keeps what it is sent), Prometheus scraped from the metrics
// port, debug logs. Spans are batched and flushed at the latest when the server stops.

t.test('warden serve exports traces and metrics over OTLP, and serves Prometheus with GC runs counted', async (t) => {
  const received: { path: string; body: any }[] = [];
  const collector = createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      try {
        received.push({ path: req.url ?? '', body: JSON.parse(body) });
      } catch {
        received.push({ path: req.url ?? '', body: null });
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => collector.close());
  const endpoint = `http://127.0.0.1:${(collector.address() as { port: number }).port}`;

  const node = await serveProcess(t, [
    '--datastore', 'memory', '--insecure-no-auth', '--address', '127.0.0.1:0', '--grace-ms', '200',
    '--otlp-endpoint', endpoint, '--trace-sample-ratio', '1', '--service-name', 'warden-otlp-test',
    '--metrics-address', '127.0.0.1:0', '--gc-interval-ms', '200', '--log-level', 'debug', '--log-format', 'json',
  ]);
  const api = apiClient(node.address);
  t.teardown(() => api.close());
  await api.schema.WriteSchema({ schema: 'definition user {}\ndefinition group { relation member: user | group#member }\ndefinition doc { relation viewer: group#member\n permission view = viewer }' });
  await api.relationship.Write({ updates: ['group:g#member@user:ann', 'doc:d#viewer@group:g#member'].map((r) => ({ operation: 'OPERATION_TOUCH', relationship: relMsg(r) })) });
  const res = await api.permission.Check({ resource: obj('doc:d'), permission: 'view', subject: subj('user:ann'), consistency: { fully_consistent: true } });
  t.equal(res.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');

  const opsPort = /"address":"127\.0\.0\.1:(\d+)","paths"/.exec(node.log())?.[1];
  t.ok(opsPort, 'the ops endpoint is announced');
  let metrics = '';
  for (let i = 0; i < 50 && !/^warden_gc_runs_total\{outcome="ok"[^}]*\} [1-9]/m.test(metrics); i++) {
    await new Promise((r) => setTimeout(r, 100));
    metrics = await (await fetch(`http://127.0.0.1:${opsPort}/metrics`)).text();
  }
  t.match(metrics, /^warden_gc_runs_total\{outcome="ok"[^}]*\} [1-9]/m, 'garbage collection runs are counted');
  t.match(metrics, /^warden_gc_removed_total\{[^}]*\} \d+/m);
  t.match(metrics, /^target_info\{[^}]*service_name="warden-otlp-test"/m, 'the service name is the one configured');

  // Stopping the server flushes what it has batched.
  const exited = new Promise((r) => node.child.once('exit', r));
  node.child.kill('SIGTERM');
  await exited;
  const spans = received.filter((r) => r.path === '/v1/traces').flatMap((r) => r.body?.resourceSpans ?? []);
  const names = spans.flatMap((rs: any) => rs.scopeSpans.flatMap((ss: any) => ss.spans.map((s: any) => s.name)));
  t.ok(names.includes('PermissionService.Check'), 'the Check\'s server span reached the collector');
  t.ok(names.includes('warden.dispatch.check'), 'with its dispatches');
  t.ok(names.includes('warden.store.read'), 'and its store reads');
  t.ok(names.includes('RelationshipService.Write'), 'every call is traced at ratio 1');
  const service = spans[0]?.resource?.attributes?.find((a: any) => a.key === 'service.name')?.value?.stringValue;
  t.equal(service, 'warden-otlp-test');
  const metricNames = received
    .filter((r) => r.path === '/v1/metrics')
    .flatMap((r) => r.body?.resourceMetrics ?? [])
    .flatMap((rm: any) => rm.scopeMetrics.flatMap((sm: any) => sm.metrics.map((m: any) => m.name)));
  t.ok(metricNames.includes('rpc.server.duration'), 'metrics reached the collector too');
  t.ok(metricNames.includes('warden.checks'));
  // Debug lines: one per call, each with a request id.
  const calls = node.log().split('\n').filter((l) => l.includes('"msg":"call"')).map((l) => JSON.parse(l) as Record<string, unknown>);
  t.ok(calls.length >= 3 && calls.every((c) => typeof c['requestId'] === 'string'), 'a line per call, each with its request id');
});
