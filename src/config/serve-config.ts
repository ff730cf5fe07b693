import { availableParallelism } from 'node:os';
import { DEFAULT_QUANTIZATION_MS } from '../consistency/consistency.js';
import { DEFAULT_ADMISSION } from '../server/admission.js';
import { DEFAULT_GC_WINDOW_MS } from '../store/datastore.js';
import { DEFAULT_LOCK_LIMITS } from '../store/lock-limits.js';
import { parseDecisionFilter } from '../telemetry/decision-log.js';
import { DEFAULT_DATASTORE, redactUrl } from './datastore-config.js';

/** How long audit history is kept by default: 90 days. */
export const DEFAULT_AUDIT_RETENTION_MS = 90 * 24 * 60 * 60 * 1000;

/** The levels `--log-level` takes, most verbose first (pino's names). */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/** Everything `warden serve` runs with, resolved from flags, then `WARDEN_*` environment, then defaults. */
export interface ServeConfig {
  readonly address: string;
  readonly datastore: string;
  readonly readReplica: string | undefined;
  readonly testing: boolean;
  readonly testingAnyAddress: boolean;
  readonly insecureNoAuth: boolean;
  readonly tlsCert: string | undefined;
  readonly tlsKey: string | undefined;
  readonly quantizationMs: number;
  readonly maxDepth: number;
  readonly maxMessageBytes: number;
  readonly graceMs: number;
  readonly maxInFlight: number;
  readonly maxQueued: number;
  readonly maxInFlightPerTenant: number | undefined;
  readonly maxQueuedPerTenant: number | undefined;
  readonly maxRatePerTenant: number;
  readonly cacheBytes: number;
  readonly cacheRedis: string | undefined;
  readonly cacheRedisTtlMs: number;
  readonly cacheRedisTimeoutMs: number;
  readonly workers: number;
  readonly pgPoolSize: number;
  readonly maxLockMs: number;
  readonly lockWaitMs: number;
  readonly gcWindowMs: number;
  readonly gcIntervalMs: number;
  readonly auditRetentionMs: number;
  readonly decisionLog: string;
  readonly logLevel: (typeof LOG_LEVELS)[number];
  readonly logFormat: 'auto' | 'json' | 'pretty';
  readonly metricsAddress: string | undefined;
  readonly consoleAddress: string | undefined;
  readonly otlpEndpoint: string | undefined;
  readonly traceSampleRatio: number;
  readonly serviceName: string;
}

type Kind = 'string' | 'int' | 'bool' | 'ratio' | readonly string[];

/** One setting: its flag, the environment variables that may give it, its type and its default. */
export interface Setting {
  readonly key: keyof ServeConfig;
  /** The flag, with its argument if it takes one: `--address <host:port>`. */
  readonly flag: string;
  /** Environment variables read when the flag is absent, first set wins. */
  readonly env: readonly string[];
  readonly kind: Kind;
  readonly help: string;
  /** The default, as `--print-config` and the help show it (computed ones are described). */
  readonly defaultText: string;
  /** Printed as `***` (URLs: only their password). */
  readonly secret?: 'url';
}

/**
 * Every setting of `warden serve`, in the order the help and the README list them. Each has a
 * `WARDEN_*` variable; the OpenTelemetry ones also read the standard `OTEL_*` variable.
 */
export const SERVE_SETTINGS: readonly Setting[] = [
  { key: 'address', flag: '--address <host:port>', env: ['WARDEN_ADDRESS'], kind: 'string', help: 'where to listen for gRPC', defaultText: '127.0.0.1:50051' },
  { key: 'datastore', flag: '--datastore <spec>', env: ['WARDEN_DATASTORE'], kind: 'string', help: 'memory | pglite:DIR | postgres://...', defaultText: DEFAULT_DATASTORE, secret: 'url' },
  { key: 'readReplica', flag: '--read-replica <url>', env: ['WARDEN_READ_REPLICA_URL'], kind: 'string', help: 'PostgreSQL replica for snapshot reads', defaultText: 'none', secret: 'url' },
  { key: 'testing', flag: '--testing', env: ['WARDEN_TESTING'], kind: 'bool', help: 'an in-memory server for client test suites: every distinct bearer token is its own new, empty tenant (no keys), like `spicedb serve-testing`', defaultText: 'false' },
  { key: 'testingAnyAddress', flag: '--testing-any-address', env: ['WARDEN_TESTING_ANY_ADDRESS'], kind: 'bool', help: 'let --testing listen on an address other than loopback', defaultText: 'false' },
  { key: 'insecureNoAuth', flag: '--insecure-no-auth', env: ['WARDEN_INSECURE_NO_AUTH'], kind: 'bool', help: 'serve without authentication, every call acting for the default tenant', defaultText: 'false' },
  { key: 'tlsCert', flag: '--tls-cert <file>', env: ['WARDEN_TLS_CERT'], kind: 'string', help: 'PEM certificate chain (with --tls-key)', defaultText: 'none: plaintext' },
  { key: 'tlsKey', flag: '--tls-key <file>', env: ['WARDEN_TLS_KEY'], kind: 'string', help: 'PEM private key (with --tls-cert)', defaultText: 'none: plaintext' },
  { key: 'quantizationMs', flag: '--quantization-ms <ms>', env: ['WARDEN_QUANTIZATION_MS'], kind: 'int', help: 'minimize_latency window', defaultText: String(DEFAULT_QUANTIZATION_MS) },
  { key: 'maxDepth', flag: '--max-depth <n>', env: ['WARDEN_MAX_DEPTH'], kind: 'int', help: 'maximum dispatch depth', defaultText: '50' },
  { key: 'maxMessageBytes', flag: '--max-message-bytes <n>', env: ['WARDEN_MAX_MESSAGE_BYTES'], kind: 'int', help: 'largest gRPC message', defaultText: String(4 * 1024 * 1024) },
  { key: 'graceMs', flag: '--grace-ms <ms>', env: ['WARDEN_GRACE_MS'], kind: 'int', help: 'how long in-flight calls may finish on shutdown', defaultText: '10000' },
  { key: 'maxInFlight', flag: '--max-in-flight <n>', env: ['WARDEN_MAX_IN_FLIGHT'], kind: 'int', help: 'calls run at once (admission control)', defaultText: String(DEFAULT_ADMISSION.maxInFlight) },
  { key: 'maxQueued', flag: '--max-queued <n>', env: ['WARDEN_MAX_QUEUED'], kind: 'int', help: 'calls that may wait for a turn; past that they are refused RESOURCE_EXHAUSTED', defaultText: String(DEFAULT_ADMISSION.maxQueued) },
  { key: 'maxInFlightPerTenant', flag: '--max-in-flight-per-tenant <n>', env: ['WARDEN_MAX_IN_FLIGHT_PER_TENANT'], kind: 'int', help: 'calls one tenant may run at once', defaultText: 'the --max-in-flight' },
  { key: 'maxQueuedPerTenant', flag: '--max-queued-per-tenant <n>', env: ['WARDEN_MAX_QUEUED_PER_TENANT'], kind: 'int', help: 'calls one tenant may have waiting, so one tenant cannot fill the queue; turns go round the tenants', defaultText: 'half the --max-queued' },
  { key: 'maxRatePerTenant', flag: '--max-rate-per-tenant <n>', env: ['WARDEN_MAX_RATE_PER_TENANT'], kind: 'int', help: 'calls a second one tenant may make, with a burst of a second\'s worth (0: no limit); past it RESOURCE_EXHAUSTED with the time to retry', defaultText: '0' },
  { key: 'cacheBytes', flag: '--cache-bytes <n>', env: ['WARDEN_CACHE_BYTES'], kind: 'int', help: 'memory for the in-process check cache shared by all requests (0: off)', defaultText: String(64 * 1024 * 1024) },
  { key: 'cacheRedis', flag: '--cache-redis <url>', env: ['WARDEN_CACHE_REDIS'], kind: 'string', help: 'Redis (redis://...) for the check cache shared by every worker and node', defaultText: 'none', secret: 'url' },
  { key: 'cacheRedisTtlMs', flag: '--cache-redis-ttl-ms <ms>', env: ['WARDEN_CACHE_REDIS_TTL_MS'], kind: 'int', help: 'how long a Redis cache entry lives', defaultText: 'twice the quantization window, at least 10000' },
  { key: 'cacheRedisTimeoutMs', flag: '--cache-redis-timeout-ms <ms>', env: ['WARDEN_CACHE_REDIS_TIMEOUT_MS'], kind: 'int', help: 'a Redis call slower than this is skipped and counted as a failure', defaultText: '10' },
  { key: 'workers', flag: '--workers <n>', env: ['WARDEN_WORKERS'], kind: 'int', help: 'server processes sharing the port, each with its own connections and in-process cache', defaultText: 'one per core with PostgreSQL, 1 with the embedded store' },
  { key: 'pgPoolSize', flag: '--pg-pool-size <n>', env: ['WARDEN_PG_POOL_SIZE'], kind: 'int', help: 'PostgreSQL connections per process: a server holds up to workers x this many', defaultText: '10' },
  { key: 'maxLockMs', flag: '--max-lock-ms <ms>', env: ['WARDEN_MAX_LOCK_MS'], kind: 'int', help: 'longest one write may hold the writer lock (raise it for very large imports)', defaultText: String(DEFAULT_LOCK_LIMITS.maxLockMs) },
  { key: 'lockWaitMs', flag: '--lock-wait-ms <ms>', env: ['WARDEN_LOCK_WAIT_MS'], kind: 'int', help: 'longest a write waits for the writer lock', defaultText: String(DEFAULT_LOCK_LIMITS.lockWaitMs) },
  { key: 'gcWindowMs', flag: '--gc-window-ms <ms>', env: ['WARDEN_GC_WINDOW_MS'], kind: 'int', help: 'keep history this long', defaultText: String(DEFAULT_GC_WINDOW_MS) },
  { key: 'gcIntervalMs', flag: '--gc-interval-ms <ms>', env: ['WARDEN_GC_INTERVAL_MS'], kind: 'int', help: 'run garbage collection this often (0: never)', defaultText: String(60 * 60 * 1000) },
  { key: 'decisionLog', flag: '--decision-log <spec>', env: ['WARDEN_DECISION_LOG'], kind: 'string', help: 'log Check decisions, a line each: off, or rate=0.01,types=document,permissions=view,results=no', defaultText: 'off' },
  { key: 'auditRetentionMs', flag: '--audit-retention-ms <ms>', env: ['WARDEN_AUDIT_RETENTION_MS'], kind: 'int', help: 'keep audit history this long, pruned as often as garbage collection runs (0: forever)', defaultText: String(DEFAULT_AUDIT_RETENTION_MS) },
  { key: 'logLevel', flag: '--log-level <level>', env: ['WARDEN_LOG_LEVEL'], kind: LOG_LEVELS, help: 'least severe log lines written (debug adds one line per call)', defaultText: 'info' },
  { key: 'logFormat', flag: '--log-format <format>', env: ['WARDEN_LOG_FORMAT'], kind: ['auto', 'json', 'pretty'], help: 'JSON lines, or readable lines; auto: readable on a terminal', defaultText: 'auto' },
  { key: 'consoleAddress', flag: '--console-address <host:port>', env: ['WARDEN_CONSOLE_ADDRESS'], kind: 'string', help: 'serve the web console (and its HTTP/JSON gateway to the API) here; the key is entered in the browser', defaultText: 'off' },
  { key: 'metricsAddress', flag: '--metrics-address <host:port>', env: ['WARDEN_METRICS_ADDRESS'], kind: 'string', help: 'serve Prometheus metrics (/metrics) and probes (/healthz, /readyz) over HTTP here', defaultText: 'off' },
  { key: 'otlpEndpoint', flag: '--otlp-endpoint <url>', env: ['WARDEN_OTLP_ENDPOINT', 'OTEL_EXPORTER_OTLP_ENDPOINT'], kind: 'string', help: 'export traces and metrics over OTLP/HTTP to this collector (http://host:4318)', defaultText: 'off', secret: 'url' },
  { key: 'traceSampleRatio', flag: '--trace-sample-ratio <r>', env: ['WARDEN_TRACE_SAMPLE_RATIO'], kind: 'ratio', help: 'share of calls traced when the caller did not decide (0..1; a sampled traceparent is always followed)', defaultText: '0.1' },
  { key: 'serviceName', flag: '--service-name <name>', env: ['WARDEN_SERVICE_NAME', 'OTEL_SERVICE_NAME'], kind: 'string', help: 'service.name of traces and metrics', defaultText: 'warden' },
];

/** A setting given a value that is not one: the message names the flag or variable and the value. */
export class ConfigError extends Error {}

function parse(s: Setting, raw: string | boolean, from: string): string | number | boolean {
  const bad = (what: string): never => {
    throw new ConfigError(`${from} must be ${what}, got \`${String(raw)}\``);
  };
  if (s.kind === 'bool') {
    if (typeof raw === 'boolean') return raw;
    const v = raw.trim().toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(v)) return true;
    if (['false', '0', 'no', 'off', ''].includes(v)) return false;
    return bad('true or false');
  }
  const v = String(raw).trim();
  if (s.kind === 'int') {
    const n = Number(v);
    return v !== '' && Number.isSafeInteger(n) && n >= 0 ? n : bad('a whole number');
  }
  if (s.kind === 'ratio') {
    const n = Number(v);
    return v !== '' && n >= 0 && n <= 1 ? n : bad('a number from 0 to 1');
  }
  if (Array.isArray(s.kind)) return (s.kind as readonly string[]).includes(v) ? v : bad(`one of ${s.kind.join(', ')}`);
  return v === '' ? bad('a value') : v;
}

/** Where each setting's value came from, for `--print-config`. */
export type ConfigSources = Readonly<Partial<Record<keyof ServeConfig, string>>>;

/**
 * Resolves the serve configuration: `flags` (commander's parsed options, only those given),
 * then the environment, then defaults; validated, with one-line errors naming the flag or
 * variable. Returns the frozen config and where each value came from.
 */
export function serveConfig(flags: Readonly<Record<string, unknown>>, env: NodeJS.ProcessEnv = process.env, cores = availableParallelism()): { config: ServeConfig; sources: ConfigSources } {
  const given: Record<string, unknown> = {};
  const sources: Record<string, string> = {};
  for (const s of SERVE_SETTINGS) {
    const flagName = s.flag.split(' ')[0]!;
    const fromFlag = flags[s.key];
    if (fromFlag !== undefined && fromFlag !== false) {
      given[s.key] = parse(s, fromFlag as string | boolean, flagName);
      sources[s.key] = 'flag';
      continue;
    }
    const name = s.env.find((e) => env[e] !== undefined && env[e] !== '');
    if (name) {
      given[s.key] = parse(s, env[name]!, name);
      sources[s.key] = `env ${name}`;
    }
  }
  const v = <T>(key: keyof ServeConfig, fallback: T): T => (given[key] ?? fallback) as T;
  const testing = v('testing', false);
  const insecureNoAuth = v('insecureNoAuth', false);
  const address = v('address', '127.0.0.1:50051');
  let datastore = v('datastore', DEFAULT_DATASTORE);
  const tlsCert = v<string | undefined>('tlsCert', undefined);
  const tlsKey = v<string | undefined>('tlsKey', undefined);
  if (!!tlsCert !== !!tlsKey) throw new ConfigError('--tls-cert and --tls-key go together');
  let workers = v<number | undefined>('workers', undefined);
  if (testing) {
    // A --datastore given with --testing is a contradiction; WARDEN_DATASTORE (set in the Docker image, say) is not.
    if (sources['datastore'] === 'flag' && datastore !== 'memory') throw new ConfigError('--testing serves from memory: leave out --datastore');
    if (insecureNoAuth) throw new ConfigError('--testing and --insecure-no-auth go one at a time');
    const host = address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!v('testingAnyAddress', false) && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
      throw new ConfigError(`--testing listens on loopback only (anyone who reaches it can write): ${address} is not; add --testing-any-address to mean it`);
    }
    datastore = 'memory';
    workers = 1;
    sources['datastore'] = sources['workers'] = 'implied by --testing';
  }
  const embedded = datastore === 'memory' || datastore.startsWith('pglite:');
  if (workers === undefined) workers = embedded ? 1 : cores;
  if (workers < 1) throw new ConfigError('--workers must be at least 1');
  const pgPoolSize = v('pgPoolSize', 10);
  if (pgPoolSize < 1) throw new ConfigError('--pg-pool-size must be at least 1');
  const quantizationMs = v('quantizationMs', DEFAULT_QUANTIZATION_MS);
  // An HTTP listener's address, when one is asked for: host:port.
  const listenAddress = (key: 'consoleAddress' | 'metricsAddress', flag: string): string | undefined => {
    const a = v<string | undefined>(key, undefined);
    if (a !== undefined && !/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(a)) throw new ConfigError(`${flag} must be host:port, got \`${a}\``);
    return a;
  };
  const consoleAddress = listenAddress('consoleAddress', '--console-address');
  const metricsAddress = listenAddress('metricsAddress', '--metrics-address');
  const otlpEndpoint = v<string | undefined>('otlpEndpoint', undefined);
  if (otlpEndpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(otlpEndpoint)) throw new ConfigError(`--otlp-endpoint must be an http:// or https:// URL, got \`${otlpEndpoint}\``);
  try {
    parseDecisionFilter(v('decisionLog', 'off'));
  } catch (e) {
    throw new ConfigError((e as Error).message.replace(/^.*?: /, `${sources['decisionLog']?.startsWith('env') ? 'WARDEN_DECISION_LOG' : '--decision-log'}: `));
  }
  const config: ServeConfig = {
    address,
    datastore,
    readReplica: v('readReplica', undefined),
    testing,
    testingAnyAddress: v('testingAnyAddress', false),
    insecureNoAuth,
    tlsCert,
    tlsKey,
    quantizationMs,
    maxDepth: v('maxDepth', 50),
    maxMessageBytes: v('maxMessageBytes', 4 * 1024 * 1024),
    graceMs: v('graceMs', 10_000),
    maxInFlight: Math.max(1, v('maxInFlight', DEFAULT_ADMISSION.maxInFlight)),
    maxQueued: v('maxQueued', DEFAULT_ADMISSION.maxQueued),
    maxInFlightPerTenant: v<number | undefined>('maxInFlightPerTenant', undefined),
    maxQueuedPerTenant: v<number | undefined>('maxQueuedPerTenant', undefined),
    maxRatePerTenant: v('maxRatePerTenant', 0),
    cacheBytes: v('cacheBytes', 64 * 1024 * 1024),
    cacheRedis: v('cacheRedis', undefined),
    cacheRedisTtlMs: v('cacheRedisTtlMs', Math.max(10_000, 2 * quantizationMs)),
    cacheRedisTimeoutMs: v('cacheRedisTimeoutMs', 10),
    workers,
    pgPoolSize,
    maxLockMs: v('maxLockMs', DEFAULT_LOCK_LIMITS.maxLockMs),
    lockWaitMs: v('lockWaitMs', DEFAULT_LOCK_LIMITS.lockWaitMs),
    gcWindowMs: v('gcWindowMs', DEFAULT_GC_WINDOW_MS),
    gcIntervalMs: v('gcIntervalMs', 60 * 60 * 1000),
    auditRetentionMs: v('auditRetentionMs', DEFAULT_AUDIT_RETENTION_MS),
    decisionLog: v('decisionLog', 'off'),
    logLevel: v('logLevel', 'info'),
    logFormat: v('logFormat', 'auto'),
    metricsAddress,
    consoleAddress,
    otlpEndpoint,
    traceSampleRatio: v('traceSampleRatio', 0.1),
    serviceName: v('serviceName', 'warden'),
  };
  return { config: Object.freeze(config), sources: Object.freeze(sources) };
}

/** The effective config as `--print-config` shows it: every setting's value and source, secrets redacted. */
export function printableConfig(config: ServeConfig, sources: ConfigSources): Record<string, { value: unknown; source: string }> {
  const out: Record<string, { value: unknown; source: string }> = {};
  for (const s of SERVE_SETTINGS) {
    const value = config[s.key];
    out[s.key] = { value: typeof value === 'string' && s.secret ? redactUrl(value) : (value ?? null), source: sources[s.key] ?? 'default' };
  }
  return out;
}
