import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { datastoreConfig } from '../config/datastore-config.js';
import type { RedisCheckCache } from '../cache/redis-check-cache.js';
import { Engine } from '../engine/engine.js';
import { WardenError } from '../errors/error-code.js';
import { keyAuthenticate, testingAuthenticate } from '../server/auth.js';
import { insecureAuthenticate, startServer } from '../server/server.js';
import { reportServing, superviseWorkers, workerSlot } from '../server/workers.js';
import { DEFAULT_TENANT } from '../store/datastore.js';
import { createKey, KEY_SCOPES } from '../store/access.js';
import { openDatastore } from '../store/open-datastore.js';
import { redact } from './migrate-command.js';
import type { ServeOptions } from './serve-command.js';

/** One JSON log line on stderr. */
export function log(level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** Runs `warden serve` (or, with --workers, supervises the worker processes that do). */
export async function runServe(options: ServeOptions): Promise<void> {
  let opts = options;
  if (!!opts.tlsCert !== !!opts.tlsKey) throw new WardenError('INVALID_ARGUMENT', '--tls-cert and --tls-key go together');
  if (opts.testing) {
    if (opts.datastore && opts.datastore !== 'memory') throw new WardenError('INVALID_ARGUMENT', '--testing serves from memory: leave out --datastore');
    if (opts.insecureNoAuth) throw new WardenError('INVALID_ARGUMENT', '--testing and --insecure-no-auth go one at a time');
    const host = opts.address.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    if (!opts.testingAnyAddress && !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)) {
      throw new WardenError('INVALID_ARGUMENT', `--testing listens on loopback only (anyone who reaches it can write): ${opts.address} is not; add --testing-any-address to mean it`);
    }
    opts = { ...opts, datastore: 'memory', workers: 1 };
  }
  const config = datastoreConfig(opts);
  const embedded = config.datastore.startsWith('pglite:') || config.datastore === 'memory';
  let workers = opts.workers ?? (embedded ? 1 : availableParallelism());
  if (embedded && workers > 1) {
    log('warn', 'the embedded store is served by one process (it holds its data directory alone): --workers is ignored; use PostgreSQL to run several');
    workers = 1;
  }
  if (opts.pgPoolSize < 1) throw new WardenError('INVALID_ARGUMENT', '--pg-pool-size must be at least 1');
  if (workers > 1 && cluster.isPrimary) {
    log('info', 'starting workers', { workers, pgPoolSize: opts.pgPoolSize, maxConnections: workers * opts.pgPoolSize });
    process.exitCode = await superviseWorkers(workers, log);
    log('info', 'stopped');
    return;
  }
  const slot = workerSlot();
  const ds = await openDatastore(config.datastore, {
    ...(config.readReplicaUrl ? { readReplicaUrl: config.readReplicaUrl } : {}),
    locks: { maxLockMs: opts.maxLockMs, lockWaitMs: opts.lockWaitMs },
    poolSize: opts.pgPoolSize,
  });
  try {
    // The embedded store belongs to this process: migrate it. A server's database is migrated by `warden migrate`.
    if (embedded) await ds.migrate();
    await ds.assertMigrated();
  } catch (e) {
    await ds.close();
    throw e;
  }
  // With workers, the first one speaks for all of them.
  const speaks = slot === null || slot === 1;
  if (!speaks) {
    // Worker 1 gave the warnings below.
  } else if (opts.testing) log('warn', 'TESTING MODE (--testing): in memory, every bearer token is a new empty tenant of its own, no keys; nothing is kept, and anyone who reaches this address can write');
  else if (opts.insecureNoAuth) log('warn', 'AUTHENTICATION IS OFF (--insecure-no-auth): every caller acts for the default tenant with every scope');
  else if (!(await ds.access.listKeys()).some((k) => !k.revokedAt)) {
    if (embedded) {
      // No other process can open an embedded store while it serves, so the first key is made here.
      if (!(await ds.access.hasTenant(DEFAULT_TENANT))) await ds.access.createTenant(DEFAULT_TENANT);
      const { info, token } = await createKey(ds.access, DEFAULT_TENANT, [...KEY_SCOPES], 'created by warden serve on first start');
      log('warn', 'created the first API key, for the default tenant with every scope; it is shown only now: store it, then make narrower keys', {
        key: token,
        id: info.id,
        tenant: info.tenant,
        scopes: info.scopes,
      });
    } else {
      log('warn', 'no API keys exist yet: create one with `warden keys create --tenant NAME` (every call is refused until then)');
    }
  }
  let redis: RedisCheckCache | null = null;
  if (opts.cacheRedis) {
    // Loaded only when asked for: every other `warden` command starts without it.
    const { RedisCheckCache } = await import('../cache/redis-check-cache.js');
    redis = new RedisCheckCache(opts.cacheRedis, {
      ttlMs: opts.cacheRedisTtlMs ?? Math.max(10_000, 2 * opts.quantizationMs),
      timeoutMs: opts.cacheRedisTimeoutMs,
      onStateChange: (state, reason) =>
        state === 'open'
          ? log('warn', 'the Redis check cache is out of use: answering from the store until it answers again', { reason })
          : log('info', 'the Redis check cache is back in use'),
    });
    const up = await redis.ready();
    log(up ? 'info' : 'warn', up ? 'the Redis check cache is connected' : 'the Redis check cache is not reachable yet: serving without it, retrying in the background', { redis: redact(opts.cacheRedis) });
  }
  const server = await startServer(
    {
      datastore: ds,
      engine: new Engine({ limits: { maxDepth: opts.maxDepth }, cacheBytes: opts.cacheBytes, ...(redis ? { sharedCache: redis } : {}) }),
      authenticate: opts.testing ? testingAuthenticate(ds.access) : opts.insecureNoAuth ? insecureAuthenticate() : keyAuthenticate(ds.access),
      quantizationMs: opts.quantizationMs,
      admission: { maxInFlight: Math.max(1, opts.maxInFlight), maxQueued: opts.maxQueued },
      maxMessageBytes: opts.maxMessageBytes,
      ...(opts.tlsCert && opts.tlsKey ? { tls: { cert: readFileSync(opts.tlsCert), key: readFileSync(opts.tlsKey) } } : {}),
      log: (e, method) => log('error', 'internal error', { method, error: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) }),
    },
    opts.address,
  );
  const host = opts.address.replace(/:\d+$/, '');
  const address = `${host}:${server.port}`;
  log('info', slot === null ? 'serving' : 'worker serving', { address, datastore: redact(config.datastore), tls: !!opts.tlsCert, auth: opts.testing ? 'testing' : opts.insecureNoAuth ? 'off' : 'api-keys', ...(slot === null ? {} : { worker: slot, pid: process.pid }) });
  reportServing(address);
  // Garbage collection is the work of one process.
  const gc = opts.gcIntervalMs && (slot === null || slot === 1)
    ? setInterval(() => {
        ds.gc({ windowMs: opts.gcWindowMs }).then(
          (r) => log('info', 'garbage collected', { removed: r.removed, watermark: r.watermark }),
          (e: unknown) => log('warn', 'garbage collection failed', { error: e instanceof Error ? e.message : String(e) }),
        );
      }, opts.gcIntervalMs)
    : null;
  gc?.unref();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log('info', 'shutting down', { signal, graceMs: opts.graceMs });
      if (gc) clearInterval(gc);
      server
        .shutdown(opts.graceMs)
        .then(() => Promise.all([ds.close(), redis?.close()]).then(() => undefined))
        .then(resolve, resolve);
    };
    // `on`, not `once`: a worker hears Ctrl-C from its terminal and again from the primary.
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  log('info', 'stopped');
  // A worker's channel to the primary would keep it alive: it is done.
  if (cluster.isWorker) process.exit(0);
}
