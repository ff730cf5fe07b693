import { InvalidArgumentError, Option, type Command } from 'commander';
import { UsageError } from './connection.js';

const SCENARIO_NAMES = ['check-hot', 'check-zipf', 'check-cold', 'batch-check', 'list-objects', 'list-subjects', 'expand', 'mixed', 'import'];

const seconds = (flag: string) => (v: string): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(v.trim());
  if (!m) throw new InvalidArgumentError(`${flag} must be a duration like 10s, 500ms or 2m, not \`${v}\``);
  const n = Number(m[1]);
  return m[2] === 'ms' ? n / 1000 : m[2] === 'm' ? n * 60 : n;
};
const whole = (flag: string, min = 1) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${flag} must be a whole number of at least ${min}, not \`${v}\``);
  return n;
};

interface BenchFlags {
  serve?: string;
  target?: string;
  token?: string;
  tls?: boolean;
  ca?: string;
  dataset?: string;
  shape: 'org' | 'deep';
  size: string;
  seed: number;
  load?: boolean;
  serverArgs?: string;
  duration: number;
  warmup: number;
  connections: number;
  workers: number;
  concurrency?: number;
  rate?: number;
  items: number;
  echo: boolean;
  out?: string;
  html?: string;
  compare?: string;
  failIf?: string;
}

/**
 * Registers `warden bench`: load tests of the real gRPC API (code in bench/, loaded only when
 * asked for), with an echo baseline measured by the same driver in the same run.
 */
export function registerBench(program: Command): void {
  const bench = program
    .command('bench')
    .description('load-test a Warden server through its gRPC API, side by side with an echo baseline')
    // `warden bench dataset --out DIR`: the subcommand's options are its own, not the scenario's.
    .enablePositionalOptions()
    .argument('<scenario>', SCENARIO_NAMES.join(' | '))
    .option('--serve <datastore>', 'start a server for the run: memory | pglite:DIR | postgres://...')
    .option('--target <host:port>', 'or use a running server')
    .option('--token <key>', 'API key for --target (WARDEN_TOKEN)')
    .option('--tls', 'TLS to --target')
    .option('--ca <file>', 'CA certificate for --tls')
    .option('--dataset <dir>', 'dataset directory (from `warden bench dataset`); generated when absent')
    .addOption(new Option('--shape <shape>', 'dataset shape when generating').choices(['org', 'deep']).default('org'))
    .option('--size <n>', 'dataset size when generating: 100k | 1m | 10m | a number', '100k')
    .option('--seed <n>', 'dataset and request seed', whole('--seed', 0), 1)
    .option('--load', 'with --target: load the dataset first (with --serve it always is)')
    .option('--server-args <flags>', 'with --serve: extra flags for warden serve, e.g. "--cache-bytes 0"')
    .option('--duration <time>', 'measured time', seconds('--duration'), 10)
    .option('--warmup <time>', 'time before measuring', seconds('--warmup'), 2)
    .option('--connections <n>', 'HTTP/2 connections', whole('--connections'), 4)
    .option('--workers <n>', 'driver worker threads', whole('--workers'), 2)
    .option('--concurrency <n>', 'closed loop: calls in flight (default by scenario)', whole('--concurrency'))
    .option('--rate <n>', 'open loop: calls started a second (check-cold defaults to 200)', whole('--rate'))
    .option('--items <n>', 'batch-check: items a call', whole('--items'), 100)
    .option('--no-echo', 'skip the echo baseline (no ratio_to_echo)')
    .option('--out <file>', 'JSON result (default bench-results/<scenario>-<time>.json)')
    .option('--html <file>', 'HTML report (default beside the JSON)')
    .option('--compare <baseline.json>', 'compare with an earlier result; exit 1 when a --fail-if rule breaks')
    .option('--fail-if <rules>', 'with --compare: e.g. "p99>+20%,throughput<-10%"')
    .addHelpText(
      'after',
      `\nScenarios: ${SCENARIO_NAMES.join(', ')} (see the README's Benchmarks section).\n\nExamples:\n  $ warden bench check-hot --serve memory --duration 10s\n  $ warden bench check-zipf --serve postgres://postgres@127.0.0.1/bench --size 1m\n  $ warden bench check-cold --target warden.internal:50051 --token $KEY --rate 500\n  $ warden bench check-hot --serve memory --compare base.json --fail-if "p99>+20%,throughput<-10%"\n  $ warden bench dataset --shape deep --size 1m --out ./deep-1m`,
    )
    .action(async (scenario: string, f: BenchFlags) => {
      if (!SCENARIO_NAMES.includes(scenario)) throw new UsageError(`unknown scenario \`${scenario}\`: one of ${SCENARIO_NAMES.join(', ')}`);
      const { runBench } = await import('../../bench/bench-main.js');
      const { parseSize } = await import('../../bench/shapes.js');
      // On a terminal, a live line (rewritten each second) shows the run's progress.
      let live = false;
      const say = (s: string): void => {
        process.stderr.write(`${live ? '\r\x1b[K' : ''}${s}\n`);
        live = false;
      };
      const progress = process.stderr.isTTY
        ? (line: string): void => {
            process.stderr.write(`\r\x1b[K${line}`);
            live = true;
          }
        : undefined;
      let size: number;
      try {
        size = parseSize(f.size);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      if (f.failIf && !f.compare) throw new UsageError('--fail-if goes with --compare');
      const { failures } = await runBench(
        {
          scenario: scenario as never,
          ...(f.serve ? { serve: f.serve } : {}),
          ...(f.target ? { target: f.target } : {}),
          ...(f.token ? { token: f.token } : {}),
          tls: !!f.tls,
          ...(f.ca ? { ca: f.ca } : {}),
          ...(f.dataset ? { dataset: f.dataset } : {}),
          shape: f.shape,
          size,
          seed: f.seed,
          load: !!f.load,
          ...(f.serverArgs ? { serverArgs: f.serverArgs.split(/\s+/).filter(Boolean) } : {}),
          durationS: f.duration,
          warmupS: f.warmup,
          connections: f.connections,
          workers: f.workers,
          ...(f.concurrency !== undefined ? { concurrency: f.concurrency } : {}),
          ...(f.rate !== undefined ? { rate: f.rate } : {}),
          items: f.items,
          echo: f.echo,
          ...(f.out ? { out: f.out } : {}),
          ...(f.html ? { html: f.html } : {}),
          ...(f.compare ? { compare: f.compare } : {}),
          ...(f.failIf ? { failIf: f.failIf } : {}),
        },
        say,
        progress,
      ).catch((e: unknown) => {
        if (e instanceof Error && /^(give exactly one|--target must|--fail-if)/.test(e.message)) throw new UsageError(e.message);
        throw e;
      });
      if (failures.length) {
        process.stderr.write(`regression against the baseline:\n${failures.map((l) => `  ${l}`).join('\n')}\n`);
        process.exitCode = 1;
      }
    });
  bench
    .command('dataset')
    .description('write a deterministic dataset (schema, relationships, meta) for load tests')
    .addOption(new Option('--shape <shape>', 'org: users, nested groups, Zipf-sized orgs, accounts, resources; deep: folder trees 8-12 deep').choices(['org', 'deep']).default('org'))
    .option('--size <n>', '100k | 1m | 10m | a number', '100k')
    .option('--seed <n>', 'seed', whole('--seed', 0), 1)
    .requiredOption('--out <dir>', 'directory to write')
    .addHelpText('after', '\nExample:\n  $ warden bench dataset --shape org --size 1m --out ./org-1m\n  $ warden bench check-zipf --serve memory --dataset ./org-1m')
    .action(async (f: { shape: 'org' | 'deep'; size: string; seed: number; out: string }) => {
      const { makeDataset } = await import('../../bench/bench-main.js');
      const { parseSize } = await import('../../bench/shapes.js');
      let size: number;
      try {
        size = parseSize(f.size);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      const meta = await makeDataset(f.out, f.shape, size, f.seed);
      process.stdout.write(`${JSON.stringify(meta)}\n`);
    });
}
