import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The warden command, built (dist/src/main.js). */
export const WARDEN_BIN = fileURLToPath(new URL('../src/main.js', import.meta.url));
const ECHO_BIN = fileURLToPath(new URL('./echo-main.js', import.meta.url));

/** A process this harness started: its port, pid, and how to stop it. */
export interface Started {
  readonly port: number;
  readonly pid: number;
  readonly token: string | null;
  stop(): Promise<void>;
}

function stopper(child: ChildProcess): () => Promise<void> {
  return () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    });
}

/** Reads lines from a stream until `match` returns a value. */
function waitFor<T>(child: ChildProcess, stream: 'stdout' | 'stderr', match: (line: string) => T | undefined, what: string, timeoutMs = 60_000): Promise<T> {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const log: string[] = [];
    const timer = setTimeout(() => reject(new Error(`${what} did not start within ${timeoutMs} ms:\n${log.join('\n')}`)), timeoutMs);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was ready:\n${log.join('\n')}`));
    };
    child.once('exit', onExit);
    child[stream]!.on('data', (d: Buffer) => {
      buffer += d.toString();
      let nl;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        log.push(line);
        const v = match(line);
        if (v !== undefined) {
          clearTimeout(timer);
          child.off('exit', onExit);
          resolve(v);
        }
      }
    });
  });
}

/** Starts the echo baseline server in a process of its own. */
export async function startEchoProcess(): Promise<Started> {
  const child = spawn(process.execPath, [ECHO_BIN], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await waitFor(child, 'stdout', (l) => (l.startsWith('{') ? (JSON.parse(l) as { port: number }).port : undefined), 'the echo server');
  return { port, pid: child.pid!, token: null, stop: stopper(child) };
}

function parseLog(line: string): Record<string, unknown> | null {
  try {
    return JSON.parse(line) as Record<string, unknown>;
  } catch {
    return null;
  }
}

/**
 * Starts `warden serve` on a datastore spec, on a free port, with API keys on: on PostgreSQL
 * and PGlite the store is migrated and a tenant of this run's own gets a key first (so runs never
 * collide); the memory store's server makes its first key at start (read from its standard output).
 */
export async function startWarden(datastore: string, extraArgs: readonly string[] = []): Promise<Started> {
  let token: string | null = null;
  // A tenant of this run's own on the SQL stores (memory is new each time, and serve makes its key).
  if (/^postgres(ql)?:\/\//.test(datastore) || datastore.startsWith('pglite:')) {
    const run = (...args: string[]) => spawnSync(process.execPath, [WARDEN_BIN, ...args, '--datastore', datastore], { encoding: 'utf8' });
    // (`keys create` migrates an embedded store itself: one process start the fewer, each a PGlite boot.)
    const m = datastore.startsWith('pglite:') ? null : run('migrate');
    if (m && m.status !== 0) throw new Error(`warden migrate failed: ${m.stderr}`);
    const k = run('keys', 'create', '--tenant', `bench-${Date.now().toString(36)}`, '--scope', 'check,read,write,schema', '--json');
    if (k.status !== 0) throw new Error(`warden keys create failed: ${k.stderr}`);
    token = (JSON.parse(k.stdout) as { key: string }).key;
  }
  const child = spawn(process.execPath, [WARDEN_BIN, 'serve', '--datastore', datastore, '--address', '127.0.0.1:0', ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  // The memory store's first key is printed once on standard output (never in the log).
  child.stdout!.on('data', (d: Buffer) => (token ??= /^(wdn_\S+)$/m.exec(d.toString())?.[1] ?? null));
  const port = await waitFor(
    child,
    'stderr',
    (line) => {
      const entry = parseLog(line);
      const address = entry?.['msg'] === 'serving' ? String(entry['address']) : null;
      return address ? Number(address.slice(address.lastIndexOf(':') + 1)) : undefined;
    },
    'warden serve',
  );
  // Keep draining its log so it never blocks on a full pipe.
  child.stderr!.resume();
  // (Two pipes: the key on stdout may come in just after the serving line on stderr.)
  for (let i = 0; i < 100 && datastore === 'memory' && !token && !extraArgs.includes('--insecure-no-auth'); i++) await new Promise((r) => setTimeout(r, 20));
  return { port, pid: child.pid!, token, stop: stopper(child) };
}

/** CPU seconds used so far and resident memory of a process (Linux /proc); null elsewhere. */
export function processStats(pid: number): { cpuSeconds: number; rssMb: number; peakRssMb: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { cpuSeconds: ticks / 100, rssMb: Math.round(kb('VmRSS') / 1024), peakRssMb: Math.round(kb('VmHWM') / 1024) };
  } catch {
    return null;
  }
}
