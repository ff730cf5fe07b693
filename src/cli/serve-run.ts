import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RedisCheckCache } from '../cache/redis-check-cache.js';
import { Engine } from '../engine/engine.js';
import { keyAuthenticate, testingAuthenticate } from '../server/auth.js';
import { insecureAuthenticate, startServer } from '../server/server.js';
import { answerOpsQuestions, askWorkers, mergeMetricsTexts, reportServing, superviseWorkers, workerSlot } from '../server/workers.js';
import { DEFAULT_TENANT } from '../store/datastore.js';
import { createKey, KEY_SCOPES } from '../store/access.js';
import { openDatastore } from '../store/open-datastore.js';
import { redactUrl } from '../config/datastore-config.js';
import { writePrivateFile } from './profiles.js';
import type { ServeConfig } from '../config/serve-config.js';
import type { ConsoleServer } from '../console/console-server.js';
import { startOpsServer, type OpsServer, type OpsSources } from '../server/ops-server.js';
import type { ReadinessState } from '../server/readiness.js';
import { createLogger } from '../telemetry/logger.js';
import { DecisionLog, parseDecisionFilter } from '../telemetry/decision-log.js';
import { Telemetry } from '../telemetry/telemetry.js';

/** Runs `warden serve` (or, with more than one worker, supervises the worker processes that do). */
export async function runServe(config: ServeConfig): Promise<void> {
  const logger = createLogger(config);
  const log = (level: 'info' | 'warn' | 'error', msg: string, fields: Record<string, unknown> = {}): void => logger[level](fields, msg);
  const embedded = config.datastore.startsWith('pglite:') || config.datastore === 'memory';
  let workers = config.workers;
  if (embedded && workers > 1) {
    log('warn', 'the embedded store is served by one process (it holds its data directory alone): --workers is ignored; use PostgreSQL to run several');
    workers = 1;
  }
  if (workers > 1 && cluster.isPrimary) {
    log('info', 'starting workers', { workers, pgPoolSize: config.pgPoolSize, maxConnections: workers * config.pgPoolSize });
    // The primary serves the ops endpoint for all of them: metrics merged, ready when every worker is.
    const ops = config.metricsAddress ? await startOpsServer(config.metricsAddress, workersOps(workers)) : null;
    if (ops) log('info', 'ops endpoint serving', { address: `${config.metricsAddress!.replace(/:\d+$/, '')}:${ops.port}`, paths: ['/metrics', '/healthz', '/readyz'] });
    process.exitCode = await superviseWorkers(workers, log);
    await ops?.close();
    log('info', 'stopped');
    return;
  }
  const slot = workerSlot();
  const ds = await openDatastore(config.datastore, {
    ...(config.readReplica ? { readReplicaUrl: config.readReplica } : {}),
    locks: { maxLockMs: config.maxLockMs, lockWaitMs: config.lockWaitMs },
    poolSize: config.pgPoolSize,
  });
  try {
    // The embedded store belongs to this process: migrate it. A server's database is migrated by `warden migrate`.
    if (embedded) await ds.migrate();
    await ds.assertMigrated();
    ds.warm?.();
  } catch (e) {
    await ds.close();
    throw e;
  }
  // With workers, the first one speaks for all of them.
  const speaks = slot === null || slot === 1;
  if (!speaks) {
    // Worker 1 gave the warnings below.
  } else if (config.testing) log('warn', 'TESTING MODE (--testing): in memory, every bearer token is a new empty tenant of its own, no keys; nothing is kept, and anyone who reaches this address can write');
  else if (config.insecureNoAuth) log('warn', 'AUTHENTICATION IS OFF (--insecure-no-auth): every caller acts for the default tenant with every scope');
  else if (!(await ds.access.listKeys()).some((k) => !k.revokedAt)) {
    if (embedded) {
      // No other process can open an embedded store while it serves, so the first key is made here.
      if (!(await ds.access.hasTenant(DEFAULT_TENANT))) await ds.access.createTenant(DEFAULT_TENANT);
      const { info, token } = await createKey(ds.access, DEFAULT_TENANT, [...KEY_SCOPES], 'created by warden serve on first start');
      // A key never goes into the log: it is written where only this user can read it (the data
      // directory), or, with nothing on disk (memory), to standard output, once.
      const where = firstKeyFile(config.datastore);
      if (where) writePrivateFile(where, `${token}\n`);
      else process.stdout.write(`${token}\n`);
      log('warn', `created the first API key, for the default tenant with every scope; ${where ? `it is in ${where} (readable by this user only)` : 'it was printed once on standard output'}: use it, then make narrower keys`, {
        keyFile: where,
        id: info.id,
        tenant: info.tenant,
        scopes: info.scopes,
      });
    } else {
      log('warn', 'no API keys exist yet: create one with `warden keys create --tenant NAME` (every call is refused until then)');
    }
  }
  let redis: RedisCheckCache | null = null;
  if (config.cacheRedis) {
    // Loaded only when asked for: every other `warden` command starts without it.
    const { RedisCheckCache } = await import('../cache/redis-check-cache.js');
    redis = new RedisCheckCache(config.cacheRedis, {
      ttlMs: config.cacheRedisTtlMs,
      timeoutMs: config.cacheRedisTimeoutMs,
      onStateChange: (state, reason) =>
        state === 'open'
          ? log('warn', 'the Redis check cache is out of use: answering from the store until it answers again', { reason })
          : log('info', 'the Redis check cache is back in use'),
    });
    const up = await redis.ready();
    log(up ? 'info' : 'warn', up ? 'the Redis check cache is connected' : 'the Redis check cache is not reachable yet: serving without it, retrying in the background', { redis: redactUrl(config.cacheRedis) });
  }
  const telemetry = await Telemetry.start({
    logger,
    serviceName: config.serviceName,
    prometheus: !!config.metricsAddress,
    ...(config.otlpEndpoint ? { otlpEndpoint: config.otlpEndpoint } : {}),
    traceSampleRatio: config.traceSampleRatio,
    maxDepth: config.maxDepth,
  });
  const decisionFilter = parseDecisionFilter(config.decisionLog);
  const server = await startServer(
    {
      datastore: ds,
      telemetry,
      // Each decision the filter lets through is a log line of its own (info, `msg: decision`).
      ...(decisionFilter ? { decisions: new DecisionLog(decisionFilter, (r) => logger.info({ decision: r }, 'decision')) } : {}),
      ...(redis ? { redisState: () => redis.state } : {}),
      engine: new Engine({ limits: { maxDepth: config.maxDepth }, cacheBytes: config.cacheBytes, ...(redis ? { sharedCache: redis } : {}), observer: telemetry.engineObserver() }),
      authenticate: config.testing ? testingAuthenticate(ds.access) : config.insecureNoAuth ? insecureAuthenticate() : keyAuthenticate(ds.access),
      quantizationMs: config.quantizationMs,
      admission: {
        maxInFlight: Math.max(1, config.maxInFlight),
        maxQueued: config.maxQueued,
        ...(config.maxInFlightPerTenant !== undefined ? { maxInFlightPerTenant: config.maxInFlightPerTenant } : {}),
        ...(config.maxQueuedPerTenant !== undefined ? { maxQueuedPerTenant: config.maxQueuedPerTenant } : {}),
        ...(config.maxRatePerTenant ? { maxRatePerTenant: config.maxRatePerTenant } : {}),
      },
      maxMessageBytes: config.maxMessageBytes,
      ...(config.tlsCert && config.tlsKey ? { tls: { cert: readFileSync(config.tlsCert), key: readFileSync(config.tlsKey) } } : {}),
      log: (e, method, requestId) => log('error', 'internal error', { requestId, method, error: e instanceof Error ? (e.cause instanceof Error ? e.cause.message : e.message) : String(e) }),
    },
    config.address,
  );
  const host = config.address.replace(/:\d+$/, '');
  const address = `${host}:${server.port}`;
  log('info', slot === null ? 'serving' : 'worker serving', { address, datastore: redactUrl(config.datastore), tls: !!config.tlsCert, auth: config.testing ? 'testing' : config.insecureNoAuth ? 'off' : 'api-keys', ...(slot === null ? {} : { worker: slot, pid: process.pid }) });
  let consoleServer: ConsoleServer | null = null;
  // A listener beside the API that cannot start (its port taken, say) stops the server: it exits
  // with the flag named, rather than serving on without what was asked for.
  const beside = async <T>(flag: string, address: string, start: () => Promise<T>): Promise<T> => {
    try {
      return await start();
    } catch (e) {
      await server.shutdown(0).catch(() => {});
      await Promise.all([ds.close(), redis?.close(), consoleServer?.close(), telemetry.shutdown()]).catch(() => {});
      throw new Error(`${flag} ${address}: ${(e as NodeJS.ErrnoException).code === 'EADDRINUSE' ? 'the address is in use' : (e as Error).message}`);
    }
  };
  // The console: each process serves it beside its gRPC server (workers share its port as they share the API's).
  if (config.consoleAddress) {
    const { credentials } = await import('@grpc/grpc-js');
    const { startConsole } = await import('../console/console-server.js');
    // The gateway calls this very server over loopback; with TLS it trusts the server's own certificate.
    const creds = config.tlsCert ? credentials.createSsl(readFileSync(config.tlsCert), null, null, { checkServerIdentity: () => undefined }) : credentials.createInsecure();
    const consoleAddress = config.consoleAddress;
    consoleServer = await beside('--console-address', consoleAddress, () => startConsole(consoleAddress, { grpcAddress: `${/^(0\.0\.0\.0|\[?::\]?)$/.test(host) ? '127.0.0.1' : host}:${server.port}`, credentials: creds, definition: server.definition }));
    if (speaks) log('info', 'console serving', { url: `http://${config.consoleAddress.replace(/:\d+$/, '')}:${consoleServer.port}/` });
  }
  // One process serves the ops endpoint: this one alone, or the primary for its workers.
  let ops: OpsServer | null = null;
  if (slot === null && config.metricsAddress) {
    const metricsAddress = config.metricsAddress;
    ops = await beside('--metrics-address', metricsAddress, () => startOpsServer(metricsAddress, { metrics: telemetry.metricsText, readiness: () => server.readiness.state, jwks: () => server.tokens.jwks() }));
    log('info', 'ops endpoint serving', { address: `${config.metricsAddress.replace(/:\d+$/, '')}:${ops.port}`, paths: [...(telemetry.metricsText ? ['/metrics'] : []), '/healthz', '/readyz', '/.well-known/jwks.json'] });
  }
  answerOpsQuestions({ metrics: telemetry.metricsText, readiness: () => server.readiness.state });
  reportServing(address);
  // Garbage collection is the work of one process.
  const gc = config.gcIntervalMs && (slot === null || slot === 1)
    ? setInterval(() => {
        ds.gc({ windowMs: config.gcWindowMs }).then(
          (r) => {
            telemetry.metrics.gcRuns.add(1, { outcome: 'ok' });
            telemetry.metrics.gcRemoved.add(r.removed);
            log('info', 'garbage collected', { removed: r.removed, watermark: r.watermark });
          },
          (e: unknown) => {
            telemetry.metrics.gcRuns.add(1, { outcome: 'failed' });
            log('warn', 'garbage collection failed', { error: e instanceof Error ? e.message : String(e) });
          },
        );
        // Audit history has a retention of its own, pruned on the same beat.
        if (config.auditRetentionMs) {
          ds.audit.prune(new Date(Date.now() - config.auditRetentionMs)).then(
            (removed) => removed && log('info', 'audit history pruned', { removed }),
            (e: unknown) => log('warn', 'pruning the audit history failed', { error: e instanceof Error ? e.message : String(e) }),
          );
        }
      }, config.gcIntervalMs)
    : null;
  gc?.unref();
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log('info', 'shutting down', { signal, graceMs: config.graceMs });
      if (gc) clearInterval(gc);
      server
        .shutdown(config.graceMs)
        .then(() => Promise.all([ds.close(), redis?.close(), ops?.close(), consoleServer?.close(), telemetry.shutdown()]).then(() => undefined))
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

/** Where the embedded store keeps the first API key (its data directory), or null for memory. */
function firstKeyFile(datastore: string): string | null {
  return datastore.startsWith('pglite:') && !datastore.startsWith('pglite:memory://') ? join(datastore.slice('pglite:'.length), 'first-key') : null;
}

/** The primary's ops endpoint over its workers: their metrics merged, ready when every one of them is. */
function workersOps(n: number): OpsSources {
  return {
    metrics: async () => mergeMetricsTexts((await askWorkers('metrics')).map((a) => ({ slot: a.slot, text: typeof a.value === 'string' ? a.value : '' }))),
    readiness: async () => {
      const answers = await askWorkers('readiness');
      const states = answers.map((a) => a.value as ReadinessState | null);
      const ready = answers.length === n && states.every((s) => s?.ready === true);
      const failing = states.find((s) => s && s.datastore !== 'ok');
      return {
        ready,
        draining: states.some((s) => s?.draining === true),
        datastore: answers.length < n ? `${n - answers.length} of ${n} workers did not answer` : (failing?.datastore ?? 'ok'),
        redis: states.find((s) => s)?.redis ?? 'not configured',
        checkedAt: new Date().toISOString(),
        workers: answers.map((a, i) => ({ worker: a.slot, ready: states[i]?.ready === true })),
      } as ReadinessState;
    },
  };
}
