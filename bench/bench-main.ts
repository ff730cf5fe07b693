import { existsSync, mkdirSync, writeFileSync, readFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ApiClient } from '../src/cli/api-client.js';
import { fromRelationship } from '../src/api/convert.js';
import { parseRelationship } from '../src/model/relationship-syntax.js';
import { readDataset, relationshipChunks, writeDataset, DATASET_FILES } from './datasets.js';
import { CORES, runLoad, type LoadResult } from './driver.js';
import type { LoadJob } from './load-job.js';
import { processStats, startEchoProcess, startWarden, type Started } from './processes.js';
import { compare, headline, parseRules, renderHtml, summaryLine, type BenchReport } from './report.js';
import { echoOps, SCENARIO_DEFAULTS, SCENARIO_TEXT, scenarioOps, type Scenario } from './scenarios.js';
import type { DatasetMeta, ShapeName } from './shapes.js';

/** Everything `warden bench <scenario>` can be told. */
export interface BenchOptions {
  readonly scenario: Scenario;
  /** Start a server on this datastore (memory, pglite:DIR, postgres://...). */
  readonly serve?: string;
  /** Or load an already running one. */
  readonly target?: string;
  readonly token?: string;
  readonly tls?: boolean;
  readonly ca?: string;
  readonly dataset?: string;
  readonly shape: ShapeName;
  readonly size: number;
  readonly seed: number;
  /** With --target: load the dataset first (with --serve it always is). */
  readonly load: boolean;
  readonly durationS: number;
  readonly warmupS: number;
  readonly connections: number;
  readonly workers: number;
  readonly concurrency?: number;
  readonly rate?: number;
  readonly items: number;
  readonly echo: boolean;
  readonly out?: string;
  readonly html?: string;
  readonly compare?: string;
  readonly failIf?: string;
  /** Extra flags for the server the harness starts. */
  readonly serverArgs?: readonly string[];
}

/** Where generated datasets are kept between runs (they are deterministic). */
function datasetDir(o: BenchOptions): string {
  return o.dataset ?? join(tmpdir(), `warden-bench-${o.shape}-${o.size}-${o.seed}`);
}

/** The dataset a run uses: the directory's, or generated into it. */
async function ensureDataset(o: BenchOptions, say: (s: string) => void): Promise<{ schema: string; meta: DatasetMeta; relationships: string }> {
  const dir = datasetDir(o);
  if (!existsSync(join(dir, DATASET_FILES.meta))) {
    if (o.dataset && existsSync(dir) && !existsSync(join(dir, DATASET_FILES.meta)) && existsSync(join(dir, DATASET_FILES.relationships))) {
      throw new Error(`${dir} holds no ${DATASET_FILES.meta}: make it with \`warden bench dataset\``);
    }
    say(`generating the ${o.shape} dataset (${o.size} relationships, seed ${o.seed}) in ${dir}`);
    await writeDataset(dir, o.shape, o.size, o.seed);
  }
  return readDataset(dir);
}

/** Loads a dataset through the real API: WriteSchema, then Import in calls of at most 500,000 relationships. */
export async function loadDataset(api: ApiClient, data: { schema: string; relationships: string }): Promise<{ relationships: number; seconds: number; per_s: number; zookie: { token: string } | null }> {
  await api.call('SchemaService', 'WriteSchema', { schema: data.schema });
  const started = performance.now();
  let total = 0;
  let zookie: { token: string } | null = null;
  const chunks = relationshipChunks(data.relationships, 1000);
  let pending: IteratorResult<string[]> = await chunks.next();
  while (!pending.done) {
    let inCall = 0;
    const messages = async function* () {
      while (!pending.done && inCall < 500_000) {
        const lines = pending.value;
        inCall += lines.length;
        yield { relationships: lines.map((l) => fromRelationship(parseRelationship(l))) };
        pending = await chunks.next();
      }
    };
    const r = await api.upload<{ count: string; imported_at: { token: string } }>('RelationshipService', 'Import', messages());
    total += Number(r.count);
    zookie = r.imported_at;
  }
  const seconds = (performance.now() - started) / 1000;
  return { relationships: total, seconds, per_s: Math.round(total / seconds), zookie };
}

function target(o: BenchOptions): { host: string; port: number } {
  const m = /^(.*):(\d+)$/.exec(o.target ?? '');
  if (!m) throw new Error(`--target must be host:port, not \`${o.target ?? ''}\``);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** Runs one scenario: starts what it must, loads, measures the echo baseline and the scenario, reports. */
export async function runBench(
  o: BenchOptions,
  say: (s: string) => void = () => {},
  progress?: (line: string) => void,
): Promise<{ report: BenchReport; failures: string[]; json: string; html: string }> {
  if (!!o.serve === !!o.target) throw new Error('give exactly one of --serve DATASTORE (start a server) and --target HOST:PORT (use a running one)');
  const data = await ensureDataset(o, say);
  const warnings: string[] = [];
  const started: Started[] = [];
  try {
    let server: Started | null = null;
    let host = '127.0.0.1';
    let port: number;
    let token = o.token ?? process.env['WARDEN_TOKEN'] ?? null;
    if (o.serve) {
      say(`starting warden serve --datastore ${o.serve}`);
      server = await startWarden(o.serve, o.serverArgs ?? []);
      started.push(server);
      port = server.port;
      token = server.token;
    } else {
      ({ host, port } = target(o));
    }
    const api = new ApiClient({ endpoint: `${host}:${port}`, tls: !!o.tls, ...(token ? { token } : {}), ...(o.ca ? { caCert: o.ca } : {}) }, 120_000);
    let load: BenchReport['load'] = null;
    let imported: BenchReport['import'] = null;
    // Reads ask at least as fresh as the load, so none is answered before the data is there.
    let consistency: unknown = null;
    try {
      if (o.scenario === 'import') {
        say(`importing ${data.meta.relationships} relationships`);
        const { zookie: _, ...r } = await loadDataset(api, data);
        imported = r;
      } else if (o.serve || o.load) {
        say(`loading ${data.meta.relationships} relationships through Import`);
        const { zookie, ...r } = await loadDataset(api, data);
        load = r;
        consistency = zookie ? { at_least_as_fresh: zookie } : null;
      }
    } finally {
      api.close();
    }

    let result: LoadResult | null = null;
    let echo: BenchReport['echo'] = null;
    let serverUse: BenchReport['server'] = null;
    const defaults = SCENARIO_DEFAULTS[o.scenario];
    const open = o.rate !== undefined ? true : o.concurrency !== undefined ? false : defaults.mode === 'open';
    const concurrency = o.concurrency ?? (defaults.concurrency || 64);
    const rate = o.rate ?? defaults.rate;
    if (o.scenario !== 'import') {
      const tlsTarget = { host, port, tls: !!o.tls, ca: o.ca ? readFileSync(o.ca, 'utf8') : null };
      const base = { connections: o.connections, warmupMs: o.warmupS * 1000, durationMs: o.durationS * 1000, token, mixed: null };
      if (o.echo) {
        const e = await startEchoProcess();
        started.push(e);
        say(`echo baseline: ${o.durationS} s, closed loop of ${concurrency}`);
        const r = await runLoad(
          { ...base, target: { host: '127.0.0.1', port: e.port, tls: false, ca: null }, token: null, mode: { kind: 'closed', concurrency }, ops: echoOps(data.meta, o.seed), order: 'cycle' },
          o.workers,
          progress && ((t, n) => progress(`echo ${t}/${o.warmupS + o.durationS} s, ${n} calls/s`)),
        );
        echo = { throughput: r.throughput, latency_ms: r.latency_ms, driver: r.driver };
        if (r.driver.saturated) warnings.push(`the driver was near saturation during the echo baseline (event loops ${r.driver.worker_elu.join(' / ')} busy): give it more --workers, or read ratio_to_echo as a lower bound`);
        await e.stop();
      }
      const count = open ? Math.ceil(rate * (o.durationS + o.warmupS) * 1.1) + 100 : concurrency * 1000;
      const { ops, order } = scenarioOps(o.scenario, data.meta, { items: o.items, count, seed: o.seed, consistency });
      const job: Omit<LoadJob, 'worker'> = {
        ...base,
        target: tlsTarget,
        mode: open ? { kind: 'open', rate } : { kind: 'closed', concurrency },
        ops,
        order,
        mixed: o.scenario === 'mixed' ? { writeShare: 0.01, type: data.meta.checkType, relation: 'viewer', permission: data.meta.checkPermission } : null,
      };
      say(`${o.scenario}: ${o.durationS} s after ${o.warmupS} s of warm-up, ${open ? `open loop at ${rate}/s` : `closed loop of ${concurrency}`}, ${o.connections} connections, ${o.workers} driver workers`);
      const before = server ? processStats(server.pid) : null;
      const t0 = performance.now();
      result = await runLoad(job, o.workers, progress && ((t, n) => progress(`${o.scenario} ${t}/${o.warmupS + o.durationS} s, ${n} calls/s`)));
      const after = server ? processStats(server.pid) : null;
      if (before && after) {
        serverUse = { cpu_cores: Math.round(((after.cpuSeconds - before.cpuSeconds) / ((performance.now() - t0) / 1000)) * 100) / 100, rss_mb: after.rssMb, peak_rss_mb: after.peakRssMb };
      }
      if (result.driver.saturated) {
        warnings.push(`the driver was near saturation (event loops ${result.driver.worker_elu.join(' / ')} busy${result.driver.late ? `, ${result.driver.late} calls could not start on time` : ''}): the figures may be the driver's limit, not the server's`);
      }
      // A closed loop always ends with its slots in flight; more of them than the calls measured means the server could not keep up.
      if (result.unfinished > result.ops) warnings.push(`${result.unfinished} calls were still running when the measured time ended (their latency is in no figure): lengthen --duration or lower the load`);
      if (result.exhausted) warnings.push('the run used up its never-repeated calls before the end: raise the dataset size or lower the rate');
      if (Object.keys(result.errors).length) warnings.push(`calls failed: ${Object.entries(result.errors).map(([c, n]) => `${c} ${n}`).join(', ')}`);
      if (result.violations) warnings.push(`${result.violations} reads after a write did not see it (consistency violations)`);
    }
    const report: BenchReport = {
      warden_bench: 1,
      scenario: o.scenario,
      description: SCENARIO_TEXT[o.scenario],
      date: new Date().toISOString(),
      machine: { cores: CORES, cpu: cpus()[0]?.model ?? 'unknown', load_avg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version },
      target: { address: `${host}:${port}`, datastore: o.serve ? redactUrl(o.serve) : null, started_by_harness: !!o.serve },
      dataset: { shape: data.meta.shape, size: data.meta.size, relationships: data.meta.relationships, seed: data.meta.seed },
      load,
      settings: {
        mode: open ? 'open' : 'closed',
        ...(open ? { rate } : { concurrency }),
        duration_s: o.durationS,
        warmup_s: o.warmupS,
        connections: o.connections,
        workers: o.workers,
        ...(o.scenario === 'batch-check' ? { items: o.items } : {}),
        ...(o.serverArgs?.length ? { server_args: o.serverArgs.join(' ') } : {}),
      },
      result,
      import: imported,
      echo,
      ratio_to_echo: echo && result ? Math.round((headline({ scenario: o.scenario, result, import: null } as BenchReport) / echo.throughput) * 1000) / 1000 : null,
      server: serverUse,
      warnings,
    };
    let failures: string[] = [];
    if (o.compare) {
      const baseline = JSON.parse(readFileSync(o.compare, 'utf8')) as BenchReport;
      failures = compare(report, baseline, parseRules(o.failIf ?? 'p99>+20%,throughput<-10%'));
    }
    const json = `${JSON.stringify(report, null, 2)}\n`;
    const html = renderHtml(report);
    const stamp = report.date.replace(/[:.]/g, '-');
    const out = o.out ?? join('bench-results', `${o.scenario}-${stamp}.json`);
    const htmlOut = o.html ?? out.replace(/\.json$/, '') + '.html';
    for (const [file, text] of [
      [out, json],
      [htmlOut, html],
    ] as const) {
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, text);
    }
    say(summaryLine(report));
    say(`wrote ${out} and ${htmlOut}`);
    for (const w of warnings) say(`warning: ${w}`);
    return { report, failures, json, html };
  } finally {
    for (const s of started.reverse()) await s.stop();
  }
}

function redactUrl(spec: string): string {
  return spec.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** `warden bench dataset`: writes a dataset directory. */
export async function makeDataset(dir: string, shape: ShapeName, size: number, seed: number): Promise<DatasetMeta> {
  return writeDataset(dir, shape, size, seed);
}
