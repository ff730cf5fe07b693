import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { portBelowEphemeralRange } from './listen-port.js';

/** A Redis server of a test's own, which it may kill and restart without disturbing others. */
export interface PrivateRedis {
  readonly url: string;
  readonly port: number;
  /** Kills the server at once (SIGKILL): what a crash looks like to clients. */
  kill(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Runs a redis-cli command against it. */
  cli(...args: string[]): string;
  destroy(): Promise<void>;
}

/** Why a private Redis cannot be started here, or null when it can. */
export function privateRedisUnavailable(): string | null {
  return spawnSync('redis-server', ['--version']).status === 0 ? null : 'redis-server is not installed';
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port }, () => s.write('PING\r\n'));
    s.on('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.on('error', () => resolve(false));
  });
}

/** Starts redis-server on a free port, without persistence. */
export async function privateRedis(): Promise<PrivateRedis> {
  let port = portBelowEphemeralRange();
  let proc: ChildProcess | null = null;
  const start = async (): Promise<void> => {
    const p = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--enable-debug-command', 'yes'], { stdio: 'ignore' });
    proc = p;
    for (let i = 0; i < 100 && p.exitCode === null; i++) {
      if (await answers(port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    const exited = p.exitCode !== null;
    p.kill('SIGKILL');
    throw new Error(`redis-server did not start on port ${port}${exited ? ` (it exited with ${p.exitCode}: the port is taken?)` : ''}`);
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    proc = null;
    if (!p || p.exitCode !== null) return;
    const gone = new Promise((r) => p.once('exit', r));
    p.kill('SIGKILL');
    await gone;
  };
  // The first start may find the port taken by another program: then another port.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (e) {
      if (attempt === 5) throw e;
      port = portBelowEphemeralRange();
    }
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    start,
    cli: (...args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout,
    destroy: kill,
  };
}
