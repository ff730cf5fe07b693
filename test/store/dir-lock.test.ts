import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { LOCK_STALE_MS, lockDirectory } from '../../src/store/postgres/dir-lock.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const lockFile = (dir: string) => join(dir, 'warden.lock');
const holder = (dir: string) => JSON.parse(readFileSync(lockFile(dir), 'utf8')) as { id: string; pid: number; ns: string | null };
const ns = (() => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return null;
  }
})();
const boot = (() => {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
})();
const deadPid = (): number => Number(spawnSync(NODE, nodeArgs('-e', 'process.stdout.write(String(process.pid))'), { encoding: 'utf8' }).stdout);
const age = (dir: string, ms: number): void => {
  const then = new Date(Date.now() - ms);
  utimesSync(lockFile(dir), then, then);
};

t.test('the lock names its holder, is refused while held, and released on close', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
  const release = lockDirectory(dir);
  t.equal(holder(dir).pid, process.pid);
  t.equal(holder(dir).ns, ns, 'with its PID namespace');
  t.throws(() => lockDirectory(dir), { code: 'UNAVAILABLE', message: /already open in this process/ });
  release();
  t.notOk(existsSync(lockFile(dir)), 'closing releases the directory');
});

t.test("a dead holder in this PID namespace is taken over at once", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
  writeFileSync(lockFile(dir), JSON.stringify({ id: 'old', pid: deadPid(), ns, host: hostname(), boot }));
  const release = lockDirectory(dir);
  t.equal(holder(dir).pid, process.pid);
  release();
});

t.test('a holder in another PID namespace is trusted by its heartbeat, not its pid', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
  // Our own pid, from another namespace: a container restarted as pid 1 beside a live one.
  writeFileSync(lockFile(dir), JSON.stringify({ id: 'other', pid: process.pid, ns: 'pid:[1]', host: hostname(), boot }));
  t.throws(() => lockDirectory(dir), { code: 'UNAVAILABLE', message: /another PID namespace/ }, 'a fresh heartbeat: refused');
  age(dir, LOCK_STALE_MS + 1000);
  const release = lockDirectory(dir);
  t.equal(holder(dir).pid, process.pid, 'a stale heartbeat: taken over');
  release();
  // A lock in the old format (a bare pid) names no namespace: the same rule.
  writeFileSync(lockFile(dir), `${process.pid}\n`);
  t.throws(() => lockDirectory(dir), { code: 'UNAVAILABLE' });
  age(dir, LOCK_STALE_MS + 1000);
  lockDirectory(dir)();
});

t.test('two processes in separate PID namespaces, both pid 1, on one directory: the second is refused', async (t) => {
  if (spawnSync('unshare', ['-p', '-f', '--mount-proc', 'true']).status !== 0) {
    t.skip('unshare -p is not available here (needs root)');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'warden-lock-'));
  const mod = new URL('../../dist/src/store/postgres/dir-lock.js', import.meta.url).href;
  const script = (hold: number) => `
    const { lockDirectory } = await import(${JSON.stringify(mod)});
    try {
      const release = lockDirectory(${JSON.stringify(dir)});
      console.log('locked as pid ' + process.pid);
      setTimeout(() => { release(); console.log('released'); }, ${hold});
    } catch (e) {
      console.log('refused: ' + e.message);
    }`;
  const run = (hold: number): ChildProcess => spawn('unshare', ['-p', '-f', '--mount-proc', process.execPath, '--input-type=module', '-e', script(hold)]);
  const output = (p: ChildProcess) => new Promise<string>((resolve) => {
    let out = '';
    p.stdout!.on('data', (d) => (out += d));
    p.on('close', () => resolve(out));
  });
  const first = run(4000);
  const firstOut = output(first);
  // Wait until the first holds the lock.
  for (let i = 0; i < 100 && !existsSync(lockFile(dir)); i++) await new Promise((r) => setTimeout(r, 50));
  const secondOut = await output(run(0));
  t.match(secondOut, /refused: .*another PID namespace/, secondOut);
  t.match(await firstOut, /locked as pid 1\b[\s\S]*released/, 'the first (pid 1 too) kept it');
});
