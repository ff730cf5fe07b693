import { InvalidArgumentError, type Command } from 'commander';
import { DEFAULT_QUANTIZATION_MS } from '../consistency/consistency.js';
import { DEFAULT_ADMISSION } from '../server/admission.js';
import { DEFAULT_GC_WINDOW_MS } from '../store/datastore.js';
import { DEFAULT_LOCK_LIMITS } from '../store/lock-limits.js';

/** The options of `warden serve`. */
export interface ServeOptions {
  address: string;
  datastore?: string;
  readReplica?: string;
  insecureNoAuth: boolean;
  tlsCert?: string;
  tlsKey?: string;
  quantizationMs: number;
  maxDepth: number;
  maxMessageBytes: number;
  graceMs: number;
  gcWindowMs: number;
  gcIntervalMs: number;
  maxLockMs: number;
  lockWaitMs: number;
  cacheBytes: number;
  cacheRedis?: string;
  cacheRedisTtlMs?: number;
  cacheRedisTimeoutMs: number;
  maxInFlight: number;
  workers?: number;
  pgPoolSize: number;
  maxQueued: number;
  testing: boolean;
  testingAnyAddress: boolean;
}

const int = (flag: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${flag} must be a whole number, got \`${v}\``);
  return n;
};

/** Registers `warden serve`. */
export function registerServe(program: Command): void {
  const env = process.env;
  program
    .command('serve')
    .description('serve the gRPC API')
    .option('--address <host:port>', 'where to listen (WARDEN_ADDRESS)', env['WARDEN_ADDRESS'] ?? '127.0.0.1:50051')
    .option('--datastore <spec>', 'memory | pglite:DIR | postgres://... (WARDEN_DATASTORE; default pglite:./warden-data)')
    .option('--read-replica <url>', 'PostgreSQL replica for snapshot reads (WARDEN_READ_REPLICA_URL)')
    .option('--testing', 'an in-memory server for client test suites: every distinct bearer token is its own new, empty tenant (no keys), like `spicedb serve-testing`')
    .option('--testing-any-address', 'let --testing listen on an address other than loopback')
    .option('--insecure-no-auth', 'serve without authentication, every call acting for the default tenant (WARDEN_INSECURE_NO_AUTH=true)', env['WARDEN_INSECURE_NO_AUTH'] === 'true')
    .option('--tls-cert <file>', 'PEM certificate chain (WARDEN_TLS_CERT)', env['WARDEN_TLS_CERT'])
    .option('--tls-key <file>', 'PEM private key (WARDEN_TLS_KEY)', env['WARDEN_TLS_KEY'])
    .option('--quantization-ms <ms>', 'minimize_latency window', int('--quantization-ms'), DEFAULT_QUANTIZATION_MS)
    .option('--max-depth <n>', 'maximum dispatch depth', int('--max-depth'), 50)
    .option('--max-message-bytes <n>', 'largest gRPC message', int('--max-message-bytes'), 4 * 1024 * 1024)
    .option('--grace-ms <ms>', 'how long in-flight calls may finish on shutdown', int('--grace-ms'), 10_000)
    .option('--max-in-flight <n>', 'calls run at once (admission control)', int('--max-in-flight'), DEFAULT_ADMISSION.maxInFlight)
    .option('--max-queued <n>', 'calls that may wait for a turn; past that they are refused RESOURCE_EXHAUSTED', int('--max-queued'), DEFAULT_ADMISSION.maxQueued)
    .option('--cache-bytes <n>', 'memory for the in-process check cache shared by all requests (0: off)', int('--cache-bytes'), 64 * 1024 * 1024)
    .option('--cache-redis <url>', 'Redis (redis://...) for the check cache shared by every worker and node (WARDEN_CACHE_REDIS; default: none)', env['WARDEN_CACHE_REDIS'])
    .option('--cache-redis-ttl-ms <ms>', 'how long a Redis cache entry lives (default: twice the quantization window, at least 10 s)', int('--cache-redis-ttl-ms'))
    .option('--cache-redis-timeout-ms <ms>', 'a Redis call slower than this is skipped and counted as a failure', int('--cache-redis-timeout-ms'), 10)
    .option('--workers <n>', 'server processes sharing the port, each with its own connections and in-process cache (WARDEN_WORKERS; default: one per core with PostgreSQL, 1 with the embedded store)', int('--workers'), env['WARDEN_WORKERS'] ? Number(env['WARDEN_WORKERS']) : undefined)
    .option('--pg-pool-size <n>', 'PostgreSQL connections per process: a server holds up to workers x this many (WARDEN_PG_POOL_SIZE)', int('--pg-pool-size'), Number(env['WARDEN_PG_POOL_SIZE'] ?? 10))
    .option('--max-lock-ms <ms>', 'longest one write may hold the writer lock (raise it for very large imports)', int('--max-lock-ms'), DEFAULT_LOCK_LIMITS.maxLockMs)
    .option('--lock-wait-ms <ms>', 'longest a write waits for the writer lock', int('--lock-wait-ms'), DEFAULT_LOCK_LIMITS.lockWaitMs)
    .option('--gc-window-ms <ms>', 'keep history this long', int('--gc-window-ms'), DEFAULT_GC_WINDOW_MS)
    .option('--gc-interval-ms <ms>', 'run garbage collection this often (0: never)', int('--gc-interval-ms'), 60 * 60 * 1000)
    .addHelpText('after', '\nLogs go to stderr as JSON, one object a line (no --json needed).\n\nExamples:\n  $ warden serve --testing --address 127.0.0.1:50051\n  $ warden serve --insecure-no-auth\n  $ warden serve --datastore postgres://warden@db/warden --tls-cert cert.pem --tls-key key.pem')
    // Everything a server needs is loaded here, not when any other `warden` command starts.
    .action(async (opts: ServeOptions) => (await import('./serve-run.js')).runServe(opts));
}
