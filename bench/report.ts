import type { LoadResult } from './driver.js';

/** One `warden bench` result, as written to JSON. */
export interface BenchReport {
  readonly warden_bench: 1;
  readonly scenario: string;
  readonly description: string;
  readonly date: string;
  readonly machine: { readonly cores: number; readonly cpu: string; readonly load_avg: readonly number[]; readonly node: string };
  readonly target: { readonly address: string; readonly datastore: string | null; readonly started_by_harness: boolean };
  readonly dataset: { readonly shape: string; readonly size: number; readonly relationships: number; readonly seed: number } | null;
  readonly load: { readonly relationships: number; readonly seconds: number; readonly per_s: number } | null;
  readonly settings: Readonly<Record<string, unknown>>;
  readonly result: LoadResult | null;
  readonly import: { readonly relationships: number; readonly seconds: number; readonly per_s: number } | null;
  readonly echo: { readonly throughput: number; readonly latency_ms: LoadResult['latency_ms']; readonly driver: LoadResult['driver'] } | null;
  /** Throughput over the echo baseline's, same driver, same run: the figure that means something on a shared machine. */
  readonly ratio_to_echo: number | null;
  readonly server: { readonly cpu_cores: number; readonly rss_mb: number; readonly peak_rss_mb: number } | null;
  readonly warnings: readonly string[];
}

/** The figure a scenario is judged by: answers a second (checks, relationships imported, listings). */
export function headline(r: BenchReport): number {
  if (r.import) return r.import.per_s;
  return r.result ? (r.scenario === 'batch-check' ? r.result.items_per_s : r.result.throughput) : 0;
}

/** A rule of `--fail-if`, e.g. `p99>+20%` or `throughput<-10%`. */
interface Rule {
  readonly metric: string;
  readonly op: '>' | '<';
  readonly percent: number;
}

const METRICS: Record<string, (r: BenchReport) => number | null> = {
  throughput: (r) => headline(r),
  ratio_to_echo: (r) => r.ratio_to_echo,
  p50: (r) => r.result?.latency_ms.p50 ?? null,
  p90: (r) => r.result?.latency_ms.p90 ?? null,
  p99: (r) => r.result?.latency_ms.p99 ?? null,
  'p99.9': (r) => r.result?.latency_ms.p99_9 ?? null,
  max: (r) => r.result?.latency_ms.max ?? null,
  errors: (r) => (r.result ? Object.values(r.result.errors).reduce((a, b) => a + b, 0) : null),
  violations: (r) => r.result?.violations ?? null,
};

/** Parses `--fail-if`: comma-separated `metric>+N%` / `metric<-N%` rules. */
export function parseRules(text: string): Rule[] {
  return text.split(',').map((part) => {
    const m = /^\s*([a-z0-9_.]+)\s*([<>])\s*([+-]?\d+(?:\.\d+)?)%\s*$/.exec(part);
    if (!m || !METRICS[m[1]!]) throw new Error(`--fail-if: \`${part.trim()}\` is not a rule like p99>+20% or throughput<-10% (metrics: ${Object.keys(METRICS).join(', ')})`);
    return { metric: m[1]!, op: m[2] as '>' | '<', percent: Number(m[3]) };
  });
}

/** Compares a result with a baseline: the rules it breaks, each as a line (none: it passes). */
export function compare(current: BenchReport, baseline: BenchReport, rules: readonly Rule[]): string[] {
  const broken: string[] = [];
  for (const rule of rules) {
    const now = METRICS[rule.metric]!(current);
    const then = METRICS[rule.metric]!(baseline);
    if (now === null || then === null) continue;
    const limit = then * (1 + rule.percent / 100);
    const change = then === 0 ? (now === 0 ? 0 : Infinity) : ((now - then) / then) * 100;
    if (rule.op === '>' ? now > limit : now < limit) {
      broken.push(`${rule.metric} ${fmt(then)} -> ${fmt(now)} (${change >= 0 ? '+' : ''}${change.toFixed(1)}%), beyond ${rule.op}${rule.percent >= 0 ? '+' : ''}${rule.percent}%`);
    }
  }
  return broken;
}

const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(3));

/** One line a human reads at the end of a run. */
export function summaryLine(r: BenchReport): string {
  if (r.import) return `${r.scenario}: ${r.import.relationships} relationships in ${r.import.seconds.toFixed(1)} s, ${Math.round(r.import.per_s)}/s`;
  const x = r.result!;
  const unit = r.scenario === 'batch-check' ? `checks/s (${x.throughput} calls/s)` : 'calls/s';
  const parts = [`${r.scenario}: ${headline(r)} ${unit}`, `p50 ${x.latency_ms.p50} ms`, `p99 ${x.latency_ms.p99} ms`];
  if (x.ttfb_ms) parts.push(`first result p50 ${x.ttfb_ms.p50} ms`, `${x.ops ? Math.round(x.results / x.ops) : 0} results a listing`);
  if (r.ratio_to_echo !== null) parts.push(`ratio_to_echo ${r.ratio_to_echo}`);
  const errors = Object.entries(x.errors);
  if (errors.length) parts.push(`errors ${errors.map(([c, n]) => `${c} ${n}`).join(', ')}`);
  if (r.scenario === 'mixed') parts.push(`violations ${x.violations} of ${x.writes} writes`);
  return parts.join(', ');
}

const esc = (s: string): string => s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** A line chart as inline SVG: series of [x, y] points. */
function chart(title: string, xLabel: string, yLabel: string, series: { name: string; color: string; points: [number, number][] }[], logX = false): string {
  const W = 640;
  const H = 260;
  const pad = { l: 60, r: 20, t: 30, b: 40 };
  const all = series.flatMap((s) => s.points);
  if (!all.length) return `<h2>${esc(title)}</h2><p>no data</p>`;
  const tx = (x: number): number => (logX ? Math.log10(100 / Math.max(1e-3, 100 - Math.min(x, 99.999))) : x);
  const xs = all.map((p) => tx(p[0]));
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs) || 1;
  const y1 = Math.max(...all.map((p) => p[1])) * 1.1 || 1;
  const px = (x: number): number => pad.l + ((tx(x) - x0) / (x1 - x0 || 1)) * (W - pad.l - pad.r);
  const py = (y: number): number => H - pad.b - (y / y1) * (H - pad.t - pad.b);
  const ticks = Array.from({ length: 5 }, (_, i) => (y1 * i) / 4);
  return `<h2>${esc(title)}</h2><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" xmlns="http://www.w3.org/2000/svg" font-family="sans-serif" font-size="11">
<rect x="${pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="#fafafa" stroke="#ccc"/>
${ticks.map((t) => `<line x1="${pad.l}" x2="${W - pad.r}" y1="${py(t)}" y2="${py(t)}" stroke="#eee"/><text x="${pad.l - 6}" y="${py(t) + 4}" text-anchor="end">${fmt(Math.round(t * 100) / 100)}</text>`).join('\n')}
${series.map((s) => `<polyline fill="none" stroke="${s.color}" stroke-width="2" points="${s.points.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join(' ')}"/>`).join('\n')}
${series.map((s, i) => `<text x="${pad.l + 10 + i * 120}" y="${pad.t - 10}" fill="${s.color}">${esc(s.name)}</text>`).join('\n')}
<text x="${(W + pad.l) / 2}" y="${H - 8}" text-anchor="middle">${esc(xLabel)}</text>
<text x="14" y="${(H + pad.t) / 2}" transform="rotate(-90 14 ${(H + pad.t) / 2})" text-anchor="middle">${esc(yLabel)}</text>
</svg>`;
}

/** A self-contained HTML report (inline SVG plots, no scripts, no network). */
export function renderHtml(r: BenchReport): string {
  const x = r.result;
  const rows: [string, string][] = [
    ['scenario', `${r.scenario}: ${r.description}`],
    ['date', r.date],
    ['machine', `${r.machine.cores} cores, ${r.machine.cpu}, load ${r.machine.load_avg.join(' ')}, node ${r.machine.node}`],
    ['target', `${r.target.address}${r.target.datastore ? ` (${r.target.datastore}, started by the harness)` : ''}`],
    ['dataset', r.dataset ? `${r.dataset.shape}, ${r.dataset.relationships} relationships (seed ${r.dataset.seed})` : 'none'],
    ['settings', Object.entries(r.settings).map(([k, v]) => `${k}=${String(v)}`).join(', ')],
    ['summary', summaryLine(r)],
  ];
  if (x) {
    rows.push(['latency (ms)', Object.entries(x.latency_ms).map(([k, v]) => `${k} ${v}`).join(', ')]);
    if (x.ttfb_ms) rows.push(['first result (ms)', Object.entries(x.ttfb_ms).map(([k, v]) => `${k} ${v}`).join(', ')]);
    rows.push(['errors', Object.entries(x.errors).map(([k, v]) => `${k} ${v}`).join(', ') || 'none']);
    rows.push(['driver', `${x.driver.workers} workers, ${x.driver.cpu_cores} cores busy, event loops ${x.driver.worker_elu.join(' / ')} busy${x.driver.late ? `, ${x.driver.late} calls late` : ''}`]);
  }
  if (r.echo) rows.push(['echo baseline', `${r.echo.throughput} calls/s, p50 ${r.echo.latency_ms.p50} ms, p99 ${r.echo.latency_ms.p99} ms; ratio_to_echo ${r.ratio_to_echo}`]);
  if (r.server) rows.push(['server', `${r.server.cpu_cores} cores busy, RSS ${r.server.rss_mb} MB (peak ${r.server.peak_rss_mb} MB)`]);
  if (r.load) rows.push(['loaded', `${r.load.relationships} relationships in ${r.load.seconds.toFixed(1)} s (${Math.round(r.load.per_s)}/s, through Import)`]);
  for (const w of r.warnings) rows.push(['warning', w]);
  const plots = x
    ? [
        chart('Latency over time', 'second', 'ms', [
          { name: 'p50', color: '#1f77b4', points: x.timeline.map((s) => [s.second, s.p50_ms]) },
          { name: 'p99', color: '#d62728', points: x.timeline.map((s) => [s.second, s.p99_ms]) },
        ]),
        chart('Latency distribution', 'percentile (log scale toward 100)', 'ms', [{ name: 'latency', color: '#9467bd', points: x.distribution.map((d) => [d.percentile, d.ms]) }], true),
        chart('Throughput over time', 'second', 'calls/s', [
          { name: 'calls', color: '#2ca02c', points: x.timeline.map((s) => [s.second, s.ops]) },
          { name: 'errors', color: '#ff7f0e', points: x.timeline.map((s) => [s.second, s.errors]) },
        ]),
      ].join('\n')
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>warden bench: ${esc(r.scenario)}</title>
<style>body{font-family:sans-serif;margin:2em;max-width:60em}table{border-collapse:collapse}td{border-bottom:1px solid #ddd;padding:4px 8px;vertical-align:top}td:first-child{font-weight:bold;white-space:nowrap}</style>
</head><body><h1>warden bench: ${esc(r.scenario)}</h1>
<table>${rows.map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('')}</table>
${plots}
</body></html>
`;
}
