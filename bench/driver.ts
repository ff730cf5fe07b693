import { cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { statusName } from './grpc-wire.js';
import type { LoadJob, StartMessage, WorkerResult } from './load-job.js';

/** Latency percentiles, in milliseconds. */
export interface Latency {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly p99_9: number;
  readonly max: number;
  readonly mean: number;
}

/** What one load run measured, all workers together. */
export interface LoadResult {
  readonly ops: number;
  /** Calls a second over the measured time. */
  readonly throughput: number;
  /** Answers a second (a BatchCheck of 100 is 100), over the measured time. */
  readonly items_per_s: number;
  readonly latency_ms: Latency;
  /** Listings: time to the first result. */
  readonly ttfb_ms: Latency | null;
  readonly errors: Readonly<Record<string, number>>;
  readonly violations: number;
  readonly writes: number;
  /** Results streamed (listings), over all calls. */
  readonly results: number;
  readonly timeline: readonly { readonly second: number; readonly ops: number; readonly errors: number; readonly p50_ms: number; readonly p99_ms: number }[];
  /** Latency by percentile, for the distribution plot. */
  readonly distribution: readonly { readonly percentile: number; readonly ms: number }[];
  readonly driver: { readonly workers: number; readonly cpu_cores: number; readonly worker_elu: readonly number[]; readonly late: number; readonly saturated: boolean };
  readonly exhausted: boolean;
  /** Calls due in the measured time that had not finished by its end (counted in no figure). */
  readonly unfinished: number;
}

const ms = (us: number): number => Math.round(us) / 1000;

/** Percentiles of a histogram (microseconds) in milliseconds. */
export function latencyOf(h: hdr.Histogram): Latency {
  if (!h.totalCount) return { p50: 0, p90: 0, p99: 0, p99_9: 0, max: 0, mean: 0 };
  return {
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p99_9: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

const PERCENTILES = [0, 10, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100];

/**
 * Runs a load job on `workers` worker threads, the job's connections and concurrency (or rate)
 * split between them, all starting together; merges what they measured.
 */
export async function runLoad(job: Omit<LoadJob, 'worker'>, workers: number, onProgress?: (elapsedS: number, opsPerS: number) => void): Promise<LoadResult> {
  const split = (n: number, i: number): number => Math.floor(n / workers) + (i < n % workers ? 1 : 0);
  // Set once every worker is ready (see StartMessage).
  let startAt = Infinity;
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const url = new URL('./driver-worker.js', import.meta.url);
  let recent = 0;
  const progress = onProgress
    ? setInterval(() => {
        if (startAt !== Infinity) onProgress(Math.round((Date.now() - startAt) / 1000), recent);
        recent = 0;
      }, 1000)
    : null;
  const started: Worker[] = [];
  let ready = 0;
  const results = await Promise.all(
    Array.from({ length: workers }, (_, i) => {
      const mode = job.mode.kind === 'closed' ? { kind: 'closed' as const, concurrency: Math.max(1, split(job.mode.concurrency, i)) } : { kind: 'open' as const, rate: job.mode.rate / workers };
      // Never-repeated ops are dealt out, so no two workers send the same one.
      const ops = job.order === 'once' ? job.ops.filter((_, k) => k % workers === i) : job.ops;
      const w = new Worker(url, { workerData: { ...job, ops, mode, connections: Math.max(1, split(job.connections, i)), worker: i } satisfies LoadJob });
      started.push(w);
      return new Promise<WorkerResult>((resolve, reject) => {
        w.on('message', (m: WorkerResult | { ready: true } | { progress: number }) => {
          if ('progress' in m) recent += m.progress;
          else if ('ready' in m) {
            if (++ready < workers) return;
            startAt = Date.now() + 20;
            for (const x of started) x.postMessage({ startAt } satisfies StartMessage);
          } else resolve(m);
        });
        w.once('error', reject);
        w.once('exit', (code) => (code ? reject(new Error(`driver worker ${i} exited with ${code}`)) : undefined));
      });
    }),
  );
  if (progress) clearInterval(progress);
  const cpu = process.cpuUsage(cpu0);
  const wallMs = performance.now() - wall0;
  const merge = (pick: (r: WorkerResult) => string | null): hdr.Histogram | null => {
    const encoded = results.map(pick).filter((x): x is string => x !== null);
    if (!encoded.length) return null;
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });
    for (const e of encoded) h.add(hdr.decodeFromCompressedBase64(e));
    return h;
  };
  const all = merge((r) => r.histogram)!;
  const ttfb = merge((r) => r.ttfb);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [code, n] of Object.entries(r.errors)) errors[statusName(/^\d+$/.test(code) ? Number(code) : code)] = (errors[statusName(/^\d+$/.test(code) ? Number(code) : code)] ?? 0) + n;
  const sum = (f: (r: WorkerResult) => number): number => results.reduce((a, r) => a + f(r), 0);
  const seconds = job.durationMs / 1000;
  const timeline = results[0]!.seconds.map((_, s) => {
    const h = merge((r) => r.seconds[s]?.histogram ?? null)!;
    return { second: s + 1, ops: sum((r) => r.seconds[s]?.ops ?? 0), errors: sum((r) => r.seconds[s]?.errors ?? 0), p50_ms: ms(h.totalCount ? h.getValueAtPercentile(50) : 0), p99_ms: ms(h.totalCount ? h.getValueAtPercentile(99) : 0) };
  });
  const elu = results.map((r) => Math.round(r.elu * 100) / 100);
  const late = sum((r) => r.late);
  return {
    ops: all.totalCount,
    throughput: Math.round((all.totalCount / seconds) * 10) / 10,
    items_per_s: Math.round((sum((r) => r.items) / seconds) * 10) / 10,
    latency_ms: latencyOf(all),
    ttfb_ms: ttfb ? latencyOf(ttfb) : null,
    errors,
    violations: sum((r) => r.violations),
    writes: sum((r) => r.writes),
    results: sum((r) => r.results),
    timeline,
    distribution: all.totalCount ? PERCENTILES.map((p) => ({ percentile: p, ms: ms(p === 100 ? all.maxValue : all.getValueAtPercentile(p)) })) : [],
    driver: {
      workers,
      cpu_cores: Math.round(((cpu.user + cpu.system) / 1000 / wallMs) * 100) / 100,
      worker_elu: elu,
      late,
      saturated: elu.some((e) => e > 0.9) || late > 0,
    },
    exhausted: results.some((r) => r.exhausted),
    unfinished: sum((r) => r.unfinished),
  };
}

/** The cores this machine has. */
export const CORES = cpus().length;
