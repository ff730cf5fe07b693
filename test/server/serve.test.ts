import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { credentials, status } from '@grpc/grpc-js';
import t from 'tap';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { loadApi, serviceClient } from '../../src/server/proto.js';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { apiClient, obj, subj } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

t.test('warden serve refuses an unmigrated database with a clear message', async (t) => {
  const url = await freshDatabase(t);
  const r = spawnSync(NODE, nodeArgs(bin, 'serve', '--datastore', url, '--address', '127.0.0.1:0'), { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 3);
  t.match(r.stderr, /the database is not migrated .* run `warden migrate` first/);
});

t.test('warden serve: authentication on by default, graceful stop on SIGTERM', async (t) => {
  const child = spawn(NODE, nodeArgs(bin, 'serve', '--datastore', 'memory', '--address', '127.0.0.1:0', '--grace-ms', '2000'), { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let out = '';
  child.stderr.on('data', (d) => (err += String(d)));
  child.stdout.on('data', (d) => (out += String(d)));
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no serving line: ${err}`)), 20_000);
    child.stderr.on('data', () => {
      const m = /"address":"([^"]+)"[^\n]*"msg":"serving"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
  });
  t.match(err, /"auth":"api-keys"/);
  t.match(err, /"msg":"created the first API key, for the default tenant with every scope; it was printed once on standard output/);
  const key = /^(wdn_\S+)$/m.exec(out)?.[1];
  t.ok(key, 'the memory store gets its first key, printed once on standard output');
  t.notOk(err.includes('wdn_'), 'and never in the log');
  const api = apiClient(address);
  await t.rejects(api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:x') }), { code: status.UNAUTHENTICATED });
  api.close();
  const keyed = apiClient(address, key!);
  await t.rejects(keyed.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:x') }), { code: status.FAILED_PRECONDITION, details: /no schema/ }, 'the key is accepted');
  keyed.close();
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(err, /"signal":"SIGTERM".*"msg":"shutting down"/);
  t.match(err, /"msg":"stopped"/);
});

/** Starts `warden serve` with these arguments; resolves once it listens. */
async function serve(args: string[]): Promise<{ address: string; log: () => string; stop: () => Promise<number | null> }> {
  const child = spawn(NODE, nodeArgs(bin, 'serve', '--address', '127.0.0.1:0', ...args), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const address = await new Promise<string>((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += String(d);
      const m = /"address":"([^"]+)"[^\n]*"msg":"serving"/.exec(err);
      if (m) resolve(m[1]!);
    });
    void exited.then((code) => reject(new Error(`warden serve exited with ${code}: ${err}`)));
  });
  return { address, log: () => err, stop: () => (child.kill('SIGTERM'), exited) };
}

t.test('the embedded store: one process at a time, the first key made once and kept', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-serve-'));
  const first = await serve(['--datastore', `pglite:${dir}`]);
  const key = readFileSync(join(dir, 'first-key'), 'utf8').trim();
  t.match(key, /^wdn_/, 'the first key is in DIR/first-key');
  t.equal(statSync(join(dir, 'first-key')).mode & 0o777, 0o600, 'readable by its owner only');
  t.match(first.log(), /it is in [^"]*first-key \(readable by this user only\)/);
  t.notOk(first.log().includes(key), 'the key is not in the log');
  const other = spawnSync(NODE, nodeArgs(bin, 'keys', 'create', '--datastore', `pglite:${dir}`), { encoding: 'utf8', timeout: 30_000 });
  t.equal(other.status, 4, 'a second process cannot open the directory');
  t.match(other.stderr, /^warden: the embedded store .* is open in another process \(pid \d+, such as a running `warden serve`\)/);
  t.equal(await first.stop(), 0);
  const second = await serve(['--datastore', `pglite:${dir}`]);
  t.notMatch(second.log(), /created the first API key/, 'no second key on a restart');
  const api = apiClient(second.address, key!);
  await t.rejects(api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:x') }), { code: status.FAILED_PRECONDITION }, 'the first key still works');
  api.close();
  t.equal(await second.stop(), 0);
  const after = spawnSync(NODE, nodeArgs(bin, 'keys', 'list', '--datastore', `pglite:${dir}`), { encoding: 'utf8', timeout: 30_000 });
  t.equal(after.status, 0, 'free again once the server stops');
  t.match(after.stdout, /created by warden serve on first start/);
});

t.test('warden serve --insecure-no-auth says so loudly', async (t) => {
  const child = spawn(NODE, nodeArgs(bin, 'serve', '--insecure-no-auth', '--datastore', 'memory', '--address', '127.0.0.1:0'), { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  await new Promise<void>((resolve) => {
    child.stderr.on('data', (d) => {
      err += String(d);
      if (err.includes('"msg":"serving"')) resolve();
    });
  });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.kill('SIGINT');
  await exited;
  t.match(err, /"level":"warn".*AUTHENTICATION IS OFF \(--insecure-no-auth\)/);
  t.match(err, /"auth":"off"/);
});

t.test('a console or metrics address that is taken stops the server, naming the flag', async (t) => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => taken.close());
  const port = (taken.address() as AddressInfo).port;
  for (const flag of ['--console-address', '--metrics-address']) {
    const r = spawnSync(NODE, nodeArgs(bin, 'serve', '--datastore', 'memory', '--address', '127.0.0.1:0', flag, `127.0.0.1:${port}`), { encoding: 'utf8', timeout: 30_000 });
    t.equal(r.status, 4, `${flag}: the server exits (it does not serve on without it)`);
    t.match(r.stderr, new RegExp(`^warden: ${flag} 127\\.0\\.0\\.1:${port}: the address is in use$`, 'm'));
  }
});

t.test('mismatched TLS flags are a usage error', async (t) => {
  const r = spawnSync(NODE, nodeArgs(bin, 'serve', '--tls-cert', 'x.pem', '--datastore', 'memory'), { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 3, '--tls-cert without --tls-key is a usage error');
  t.match(r.stderr, /--tls-cert and --tls-key go together/);
});

t.test('TLS: clients that trust the certificate connect, plaintext ones do not', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-tls-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], {
      stdio: 'ignore',
    });
  } catch {
    t.skip('openssl is not available to make a test certificate');
    return;
  }
  const cert = readFileSync(`${dir}/cert.pem`);
  const ds = new MemoryDatastore();
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), tls: { cert, key: readFileSync(`${dir}/key.pem`) }, log: () => {} }, '127.0.0.1:0');
  t.teardown(() => server.shutdown(500));
  const { v1 } = loadApi();
  const Schema = serviceClient(v1, 'SchemaService');
  const call = (creds: ReturnType<typeof credentials.createInsecure>) =>
    new Promise<any>((resolve, reject) => {
      const c = new Schema(`localhost:${server.port}`, creds) as any;
      c.ValidateSchema({ schema: 'definition user {}' }, { deadline: Date.now() + 5000 }, (e: unknown, r: unknown) => {
        c.close();
        if (e) reject(e);
        else resolve(r);
      });
    });
  t.equal((await call(credentials.createSsl(cert))).valid, true);
  await t.rejects(call(credentials.createInsecure()), { code: status.UNAVAILABLE });
});
