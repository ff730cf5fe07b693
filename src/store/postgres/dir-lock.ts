import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { WardenError } from '../../errors/error-code.js';

const LOCK_FILE = 'warden.lock';

/** Lock files this process holds: a lock naming our pid that is not here is a former process's (a container restarted as pid 1). */
const held = new Set<string>();

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Takes the embedded store's directory for this process. PGlite is one process's database: a
 * second process opening the same directory would neither see the first one's writes nor keep
 * its files sound. A lock left by a process that has died is taken over. Returns the release.
 */
export function lockDirectory(dir: string): () => void {
  const path = resolve(join(dir, LOCK_FILE));
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
      held.add(path);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number.parseInt(readFileSync(path, 'utf8'), 10);
      const ours = pid === process.pid && held.has(path);
      if (Number.isInteger(pid) && pid > 0 && (ours || (pid !== process.pid && alive(pid)))) {
        throw new WardenError(
          'UNAVAILABLE',
          ours
            ? `the embedded store ${dir} is already open in this process`
            : `the embedded store ${dir} is open in another process (pid ${pid}, such as a running \`warden serve\`): PGlite serves one process at a time, so stop that process first (or remove ${path} if no such process is running)`,
        );
      }
      unlinkSync(path);
    }
  }
  const release = (): void => {
    process.off('exit', release);
    held.delete(path);
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  process.on('exit', release);
  return release;
}
