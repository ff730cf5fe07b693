import { randomUUID } from 'node:crypto';
import { readFileSync, readlinkSync, statSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { WardenError } from '../../errors/error-code.js';

const LOCK_FILE = 'warden.lock';

/** How often a holder refreshes its lock file's time, and how old a refresh may be before the lock counts as abandoned. */
export const LOCK_HEARTBEAT_MS = 2000;
export const LOCK_STALE_MS = 10_000;

/** Who holds a lock: this open's own id, and where its pid means something. */
interface Holder {
  readonly id: string;
  readonly pid: number;
  /** The PID namespace (`pid:[4026531836]`): a pid is only comparable inside the same one. */
  readonly ns: string | null;
  readonly host: string;
  readonly boot: string | null;
}

/** Lock files this process holds, by path. */
const held = new Map<string, string>();

function readOr<T>(fn: () => T, fallback: T): T {
  try {
    return fn();
  } catch {
    return fallback;
  }
}

function me(id: string): Holder {
  return {
    id,
    pid: process.pid,
    ns: readOr(() => readlinkSync('/proc/self/ns/pid'), null),
    host: hostname(),
    boot: readOr(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim(), null),
  };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether the holder of a lock is gone. Its pid is trusted only when it lives in our PID
 * namespace on the same boot of the same host (two containers on one volume are both pid 1, each
 * in its own namespace); otherwise only a heartbeat older than LOCK_STALE_MS says so.
 */
function abandoned(holder: Holder | null, path: string, self: Holder): boolean {
  const age = Date.now() - readOr(() => statSync(path).mtimeMs, 0);
  if (age > LOCK_STALE_MS) return true;
  if (!holder || !holder.ns || holder.ns !== self.ns || holder.host !== self.host || holder.boot !== self.boot) return false;
  return holder.pid !== self.pid && !alive(holder.pid);
}

function parseHolder(text: string): Holder | null {
  try {
    const h = JSON.parse(text) as Partial<Holder>;
    return typeof h.id === 'string' && typeof h.pid === 'number' ? (h as Holder) : null;
  } catch {
    return null;
  }
}

/**
 * Takes the embedded store's directory for this process. PGlite is one process's database: a
 * second process opening the same directory would neither see the first one's writes nor keep
 * its files sound. The lock file names its holder (an id of its own, pid, PID namespace, host,
 * boot) and is refreshed every LOCK_HEARTBEAT_MS; a lock whose holder is provably gone, or whose
 * heartbeat stopped more than LOCK_STALE_MS ago, is taken over. Returns the release.
 */
export function lockDirectory(dir: string): () => void {
  const path = resolve(join(dir, LOCK_FILE));
  if (held.has(path)) throw new WardenError('UNAVAILABLE', `the embedded store ${dir} is already open in this process`);
  const self = me(randomUUID());
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(path, `${JSON.stringify(self)}\n`, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 1) throw e;
      const holder = parseHolder(readOr(() => readFileSync(path, 'utf8'), ''));
      if (!abandoned(holder, path, self)) {
        const who = holder ? `pid ${holder.pid}${holder.host !== self.host ? ` on ${holder.host}` : ''}${holder.ns !== self.ns ? ' in another PID namespace (another container?)' : ''}` : 'an older Warden';
        throw new WardenError(
          'UNAVAILABLE',
          `the embedded store ${dir} is open in another process (${who}, such as a running \`warden serve\`): PGlite serves one process at a time, so stop that process first (a lock whose holder died is taken over within ${LOCK_STALE_MS / 1000} s)`,
        );
      }
      readOr(() => unlinkSync(path), undefined);
    }
  }
  held.set(path, self.id);
  const ours = (): boolean => parseHolder(readOr(() => readFileSync(path, 'utf8'), ''))?.id === self.id;
  const heartbeat = setInterval(() => {
    const now = new Date();
    if (ours()) readOr(() => utimesSync(path, now, now), undefined);
    else clearInterval(heartbeat);
  }, LOCK_HEARTBEAT_MS);
  heartbeat.unref();
  const release = (): void => {
    process.off('exit', release);
    clearInterval(heartbeat);
    held.delete(path);
    if (ours()) readOr(() => unlinkSync(path), undefined);
  };
  process.on('exit', release);
  return release;
}
