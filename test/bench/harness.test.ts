import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, type ServiceDefinition } from '@grpc/grpc-js';
import t from 'tap';
import { compare, parseRules, type BenchReport } from '../../bench/report.js';
import { generate, parseSize } from '../../bench/shapes.js';
import { loadApi } from '../../src/server/proto.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { freshDatabase } from '../helpers/postgres.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

// The harness as a load tester uses it: `warden bench` against servers it starts (memory,
// PGlite, PostgreSQL) or targets. These runs last a second or two: they assert the shape of the
// results (and that consistency violations are counted), never speed.

const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'warden-bench-test-'));
const dataset = join(work, 'org');

function bench(args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(NODE, nodeArgs(bin, 'bench', ...args), { encoding: 'utf8', cwd: work, timeout: 180_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** The same, without blocking: runs started together share the machine while each mostly waits on its fixed timings. */
function benchAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(NODE, nodeArgs(bin, 'bench', ...args), { cwd: work, timeout: 180_000 });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.once('close', (code) => resolve({ code, out, err }));
  });
}

/** Runs `jobs` at most `limit` at a time; their results in order. */
async function pooled<T>(jobs: readonly (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]!();
      }
    }),
  );
  return results;
}

function report(file: string): BenchReport {
  return JSON.parse(readFileSync(join(work, file), 'utf8')) as BenchReport;
}

const QUICK = ['--duration', '1s', '--warmup', '0.5s', '--connections', '2', '--workers', '1'];

t.test('datasets are deterministic and of the requested shape and size', async (t) => {
  t.equal(parseSize('100k'), 100_000);
  t.equal(parseSize('10m'), 10_000_000);
  t.throws(() => parseSize('lots'));
  for (const shape of ['org', 'deep'] as const) {
    const a = generate(shape, 3000, 7);
    const b = generate(shape, 3000, 7);
    const la = [...a.lines];
    t.same(la, [...b.lines], `${shape}: the same seed gives the same data`);
    t.equal(la.length, a.meta().relationships);
    t.equal(la.length, 3000, `${shape}: the size asked`);
    t.equal(new Set(la).size, la.length, `${shape}: no relationship twice`);
  }
  const org = [...generate('org', 20_000, 1).lines];
  t.ok(org.some((l) => l.includes('@user:*')), 'the org shape has a wildcard');
  t.ok(org.some((l) => l.includes('[within_hours:')), 'and a caveat');
  t.ok(org.some((l) => l.includes('#banned@')), 'and exclusions');
  t.ok(org.some((l) => /^group:g\d+#member@group:/.test(l)), 'and nested groups');
  // The deep shape's spines are 8 to 12 folders deep.
  const parent = new Map<string, string>();
  for (const l of generate('deep', 5000, 1).lines) {
    const m = /^folder:(f\d+)#parent@folder:(f\d+)$/.exec(l);
    if (m) parent.set(m[1]!, m[2]!);
  }
  const depth = (f: string): number => (parent.has(f) ? 1 + depth(parent.get(f)!) : 1);
  const deepest = Math.max(...[...parent.keys()].map(depth));
  t.ok(deepest >= 8 && deepest <= 12, `folders nest ${deepest} deep`);

  const r = spawnSync(NODE, nodeArgs(bin, 'bench', 'dataset', '--shape', 'org', '--size', '2000', '--out', dataset), { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(JSON.parse(r.stdout), { shape: 'org', relationships: 2000 });
  for (const f of ['schema.zed', 'relationships.txt', 'meta.json']) t.ok(existsSync(join(dataset, f)), f);
});

const SCENARIOS = ['check-hot', 'check-zipf', 'check-cold', 'batch-check', 'list-objects', 'list-subjects', 'expand', 'mixed', 'import'];

t.test('every scenario runs against a server the harness starts, and writes JSON and HTML', async (t) => {
  // The echo baseline is the same whatever the scenario: measured in two of them, skipped in the
  // rest (it doubles a run's time).
  const withEcho = (scenario: string): boolean => scenario === 'check-hot' || scenario === 'batch-check';
  // Three runs at a time, each with its own server.
  const runs = await pooled(
    SCENARIOS.map((scenario) => () => {
      const extra = scenario === 'check-cold' ? ['--rate', '100'] : scenario === 'list-objects' || scenario === 'list-subjects' ? ['--concurrency', '1'] : [];
      return benchAsync([scenario, '--serve', 'memory', '--dataset', dataset, ...QUICK, ...extra, ...(withEcho(scenario) ? [] : ['--no-echo']), '--out', `${scenario}.json`]);
    }),
    3,
  );
  for (const [i, scenario] of SCENARIOS.entries()) {
    const out = `${scenario}.json`;
    const r = runs[i]!;
    t.equal(r.code, 0, `${scenario} ran: ${r.err.slice(-500)}`);
    const x = report(out);
    t.equal(x.scenario, scenario);
    t.match(x.machine, { cores: Number, load_avg: Array });
    t.equal(x.target.started_by_harness, true);
    t.equal(x.dataset?.relationships, 2000);
    if (scenario === 'import') {
      t.match(x.import, { relationships: 2000, per_s: Number }, 'import reports relationships a second');
      t.equal(x.ratio_to_echo, null);
    } else {
      t.match(x.load, { relationships: 2000, per_s: Number }, 'the dataset was loaded through Import');
      const res = x.result!;
      t.ok(res.ops > 0, `${scenario}: ${res.ops} calls measured`);
      t.match(res.latency_ms, { p50: Number, p90: Number, p99: Number, p99_9: Number, max: Number });
      t.same(res.errors, {}, `${scenario}: no call failed`);
      t.ok(res.timeline.length >= 1 && res.distribution.length > 5, 'throughput over time and the latency distribution');
      t.match(res.driver, { workers: 1, cpu_cores: Number, worker_elu: Array });
      if (withEcho(scenario)) {
        t.ok(x.echo && x.echo.throughput > 0, 'the echo baseline was measured in the same run');
        t.type(x.ratio_to_echo, 'number');
      } else t.same([x.echo, x.ratio_to_echo], [null, null], '--no-echo: no baseline, no ratio');
      t.match(x.server, { cpu_cores: Number, rss_mb: Number }, "the server's CPU and memory");
      if (scenario.startsWith('list-')) t.ok(res.ttfb_ms && res.results > 0, `${scenario}: time to first result, ${res.results} results`);
      if (scenario === 'batch-check') t.equal(res.items_per_s, res.throughput * 100, 'batch-check counts checks');
      if (scenario === 'check-cold') t.ok(Math.abs(res.throughput - 100) < 30, `the open loop keeps its rate (${res.throughput}/s)`);
      if (scenario === 'mixed') t.ok(res.writes > 0 && res.violations === 0, `mixed: ${res.writes} writes, every one seen by the read after it`);
    }
    const html = readFileSync(join(work, `${scenario}.html`), 'utf8');
    t.match(html, /^<!doctype html>/);
    if (scenario !== 'import') t.match(html, /Latency over time[\s\S]*<svg[\s\S]*Latency distribution[\s\S]*<svg[\s\S]*Throughput over time[\s\S]*<svg/, `${scenario}: the report has its plots`);
    t.notMatch(html, /(src|href)=["']https?:/, 'and loads nothing from the network');
  }
});

t.test('the scenarios run against PGlite and PostgreSQL too', async (t) => {
  const url = await freshDatabase(t);
  const stores = [
    ['pglite', `pglite:${join(work, 'pglite-data')}`],
    ['postgres', url],
  ] as const;
  // `mixed`: its checks, writes and reads-after-writes go through every part a SQL store
  // changes (the other scenarios differ only in the calls they make, covered on memory above).
  // A low concurrency: on a cold cache a SQL store answers tens of checks a second here, and
  // 64 calls queued behind one another might none of them finish inside the short window.
  const runs = await Promise.all(stores.map(([name, spec]) => benchAsync(['mixed', '--serve', spec, '--dataset', dataset, ...QUICK, '--concurrency', '4', '--no-echo', '--out', `${name}-mixed.json`])));
  for (const [i, [name]] of stores.entries()) {
    const r = runs[i]!;
    t.equal(r.code, 0, `${name} mixed: ${r.err.slice(-400)}`);
    const x = report(`${name}-mixed.json`);
    t.ok(x.result!.ops > 0, `${name} mixed: ${x.result!.ops} calls`);
    t.same(x.result!.errors, {});
    t.equal(x.ratio_to_echo, null, 'no echo: no ratio');
    t.equal(x.result!.violations, 0);
  }
});

t.test('a running server can be targeted, over TLS, loading the dataset first', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-bench-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  } catch {
    t.skip('openssl is not available to make a test certificate');
    return;
  }
  const ds = await openDatastore('memory');
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), tls: { cert: readFileSync(`${dir}/cert.pem`), key: readFileSync(`${dir}/key.pem`) }, log: () => {} }, '127.0.0.1:0');
  t.teardown(() => server.shutdown(500));
  const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn(NODE, nodeArgs(bin, 'bench', 'check-zipf', '--target', `127.0.0.1:${server.port}`, '--tls', '--ca', `${dir}/cert.pem`, '--load', '--dataset', dataset, ...QUICK, '--concurrency', '4', '--no-echo', '--out', 'tls.json'), { cwd: work });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, err }));
  });
  t.equal(r.code, 0, r.err);
  const x = report('tls.json');
  t.equal(x.target.started_by_harness, false);
  t.match(x.load, { relationships: 2000 });
  t.ok(x.result!.ops > 0, `${x.result!.ops} calls over TLS`);
  t.same(x.result!.errors, {});
  t.equal(x.server, null, "a server the harness did not start: no CPU or memory figures");
});

t.test('a read that misses the write before it is counted as a violation', async (t) => {
  // A server that acknowledges writes but never shows them: every read-after-write is a violation.
  const { v1 } = loadApi();
  const server = new Server();
  const zookie = { token: 'AAAA' };
  server.addService((v1['PermissionService'] as unknown as { service: ServiceDefinition }).service, {
    Check: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, { checked_at: zookie, permissionship: 'PERMISSIONSHIP_NO_PERMISSION', missing_context_params: [] }),
  });
  server.addService((v1['RelationshipService'] as unknown as { service: ServiceDefinition }).service, {
    Write: (_c: unknown, cb: (e: null, r: unknown) => void) => cb(null, { written_at: zookie }),
  });
  const port = await new Promise<number>((resolve, reject) => server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))));
  t.teardown(() => server.forceShutdown());
  const r = await new Promise<{ code: number | null; err: string }>((resolve) => {
    const child = spawn(NODE, nodeArgs(bin, 'bench', 'mixed', '--target', `127.0.0.1:${port}`, '--dataset', dataset, ...QUICK, '--no-echo', '--out', 'lying.json'), { cwd: work });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('close', (code) => resolve({ code, err }));
  });
  t.equal(r.code, 0, r.err);
  const x = report('lying.json');
  t.ok(x.result!.writes > 0, `${x.result!.writes} writes`);
  t.equal(x.result!.violations, x.result!.writes, 'every read after a write is counted as a violation');
  t.match(x.warnings.join('\n'), /consistency violations/);
});

t.test('the regression gate compares with a baseline and fails on a breach', async (t) => {
  const base = report('check-hot.json');
  t.same(compare(base, base, parseRules('p99>+20%,throughput<-10%')), [], 'a result passes against itself');
  const slower = { ...base, result: { ...base.result!, throughput: base.result!.throughput * 0.5, items_per_s: base.result!.items_per_s * 0.5, latency_ms: { ...base.result!.latency_ms, p99: base.result!.latency_ms.p99 * 2 } } };
  const broken = compare(slower as BenchReport, base, parseRules('p99>+20%,throughput<-10%'));
  t.equal(broken.length, 2, broken.join('\n'));
  t.match(broken[0], /^p99 .* \(\+100\.0%\), beyond >\+20%$/);
  t.throws(() => parseRules('p99 is bad'), /not a rule/);
  // Through the command: a baseline twice as fast as anything this run can do fails it (exit 1).
  const fast = { ...base, result: { ...base.result!, throughput: base.result!.throughput * 1000, items_per_s: base.result!.items_per_s * 1000 } };
  writeFileSync(join(work, 'fast.json'), JSON.stringify(fast));
  const r = bench(['check-hot', '--serve', 'memory', '--dataset', dataset, ...QUICK, '--no-echo', '--out', 'gate.json', '--compare', 'fast.json', '--fail-if', 'throughput<-10%']);
  t.equal(r.code, 1, 'a regression fails the run');
  t.match(r.err, /regression against the baseline:\n {2}throughput /);
  const ok = bench(['check-hot', '--serve', 'memory', '--dataset', dataset, ...QUICK, '--no-echo', '--out', 'gate2.json', '--compare', 'fast.json', '--fail-if', 'throughput<-100%']);
  t.equal(ok.code, 0, 'a lenient rule passes');
  t.equal(bench(['check-hot', '--serve', 'memory', '--target', '127.0.0.1:1']).code, 3, 'both --serve and --target is a usage error');
  t.equal(bench(['nonsense', '--serve', 'memory']).code, 3, 'an unknown scenario is a usage error');
});
