import { connect, createServer, type Server, type Socket } from 'node:net';
import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { protoPath as healthProto } from 'grpc-health-check';
import t from 'tap';
import { databaseWithKey, POSTGRES_SERVER } from '../helpers/postgres.js';
import { serveProcess } from '../helpers/warden-process.js';

// Readiness follows the datastore: a `warden serve` reaches PostgreSQL through a TCP proxy this
// test controls, so "PostgreSQL stops" is the proxy refusing and dropping every connection
// (the machine's PostgreSQL serves other tests and is never stopped).

/** A TCP proxy to PostgreSQL that can be stopped (dropping every connection) and started again on its port. */
function pgProxy(): { port: () => number; start: (port?: number) => Promise<void>; stop: () => Promise<void> } {
  const target = new URL(POSTGRES_SERVER);
  let server: Server | null = null;
  const sockets = new Set<Socket>();
  let port = 0;
  return {
    port: () => port,
    start: (p = 0) =>
      new Promise((resolve) => {
        server = createServer((client) => {
          const upstream = connect(Number(target.port || 5432), target.hostname);
          for (const s of [client, upstream]) {
            sockets.add(s);
            s.on('close', () => sockets.delete(s));
            s.on('error', () => {});
          }
          client.pipe(upstream).pipe(client);
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
        });
        server.listen(p, '127.0.0.1', () => {
          port = (server!.address() as { port: number }).port;
          resolve();
        });
      }),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server ? server.close(() => resolve()) : resolve();
        server = null;
      }),
  };
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`${what}: still ${JSON.stringify(v)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

t.test('readiness flips when PostgreSQL stops, and back when it returns; liveness holds', async (t) => {
  const { url } = await databaseWithKey(t);
  const proxy = pgProxy();
  await proxy.start();
  t.teardown(() => proxy.stop());
  const viaProxy = url.replace(/@[^/]+\//, `@127.0.0.1:${proxy.port()}/`);
  const node = await serveProcess(t, ['--datastore', viaProxy, '--address', '127.0.0.1:0', '--workers', '1', '--metrics-address', '127.0.0.1:0', '--grace-ms', '200']);
  const opsPort = await until('the ops endpoint line', async () => /"address":"127\.0\.0\.1:(\d+)","paths"/.exec(node.log())?.[1], (v) => v !== undefined);
  const ops = `http://127.0.0.1:${opsPort}`;
  const health = loadPackageDefinition(loadSync(healthProto, { enums: String })) as any;
  const client = new health.grpc.health.v1.Health(node.address, credentials.createInsecure());
  t.teardown(() => client.close());
  const grpcHealth = (service: string): Promise<string> =>
    new Promise((resolve, reject) => client.Check({ service }, (e: unknown, r: { status: string }) => (e ? reject(e) : resolve(r.status))));
  const readyz = async (): Promise<{ status: number; body: any }> => {
    const r = await fetch(`${ops}/readyz`);
    return { status: r.status, body: await r.json() };
  };

  t.match(await readyz(), { status: 200, body: { status: 'ready', datastore: 'ok' } }, 'ready with PostgreSQL up');
  t.equal(await grpcHealth(''), 'SERVING');
  t.equal(await grpcHealth('warden.v1.PermissionService'), 'SERVING');
  t.equal(await grpcHealth('authzed.api.v1.PermissionsService'), 'SERVING');

  await proxy.stop();
  const down = await until('readiness after PostgreSQL stopped', readyz, (r) => r.status === 503);
  t.match(down.body, { status: 'not ready', draining: false }, 'not ready once PostgreSQL is gone');
  t.not(down.body.datastore, 'ok', `and it says why: ${down.body.datastore}`);
  t.equal(await grpcHealth(''), 'NOT_SERVING', 'gRPC health follows');
  t.equal(await grpcHealth('warden.v1.PermissionService'), 'NOT_SERVING');
  t.equal(await grpcHealth('liveness'), 'SERVING', 'liveness holds: restarting the process would not bring PostgreSQL back');
  t.equal((await fetch(`${ops}/healthz`)).status, 200, '/healthz too');
  t.match(node.log(), /"msg":"not ready"/, 'the flip is logged');

  await proxy.start(Number(new URL(viaProxy).port));
  await until('readiness after PostgreSQL returned', readyz, (r) => r.status === 200);
  t.equal(await grpcHealth(''), 'SERVING', 'serving again once PostgreSQL answers');
});
