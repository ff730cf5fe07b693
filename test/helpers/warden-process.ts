import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Test } from 'tap';
import { NODE, nodeArgs } from './node-process.js';

/** The built `warden` binary (npm test builds first). */
export const WARDEN_BIN = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));

/**
 * Starts `warden serve ARGS` (add `--address 127.0.0.1:0`) as a process of its own and waits for
 * its "serving" log line (and, with `until`, for a log line that matches it too); stopped
 * (SIGTERM) when the test ends unless it has exited already.
 */
export function serveProcess(t: Test, args: readonly string[], options: { cwd?: string; until?: RegExp } = {}): Promise<{ child: ChildProcess; address: string; log: () => string }> {
  const child = spawn(NODE, nodeArgs(WARDEN_BIN, 'serve', ...args), { stdio: ['ignore', 'ignore', 'pipe'], ...(options.cwd ? { cwd: options.cwd } : {}) });
  let log = '';
  t.teardown(() => (child.exitCode !== null || child.signalCode ? undefined : new Promise<void>((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM')))));
  return new Promise((resolve, reject) => {
    child.stderr!.on('data', (d) => {
      log += String(d);
      const m = /"address":"([^"]+)"[^\n]*"msg":"serving"/.exec(log);
      if (m && (!options.until || options.until.test(log))) resolve({ child, address: m[1]!, log: () => log });
    });
    child.once('exit', (code) => reject(new Error(`warden serve exited with ${code}: ${log}`)));
  });
}
