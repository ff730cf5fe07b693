import cluster, { type Worker } from 'node:cluster';

/** The environment variable that tells a worker its slot (1..N); a restarted worker keeps its slot. */
export const WORKER_SLOT_ENV = 'WARDEN_WORKER_SLOT';

/** What a worker tells the primary once it serves. */
interface ServingMessage {
  readonly warden: 'serving';
  readonly address: string;
}

type Log = (level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>) => void;

/** This process's worker slot (1..N), or null when it is not a worker. */
export function workerSlot(): number | null {
  const v = process.env[WORKER_SLOT_ENV];
  return cluster.isWorker && v ? Number(v) : null;
}

/** Tells the primary (if any) that this worker serves at `address`. */
export function reportServing(address: string): void {
  if (cluster.isWorker && process.send) process.send({ warden: 'serving', address } satisfies ServingMessage);
}

/**
 * Runs `n` copies of this command as workers (node:cluster), all serving one port, and keeps
 * them running: a worker that dies after it started serving is started again in its slot; one
 * that dies before (bad configuration, database unreachable, not migrated) stops them all, since
 * its siblings would fail the same way. SIGTERM and SIGINT are passed on, and the promise settles
 * with the exit code once every worker has exited.
 */
export function superviseWorkers(n: number, log: Log): Promise<number> {
  return new Promise((resolve) => {
    const slots = new Map<Worker, number>();
    /** Slots whose worker has served at least once: a failure after that is worth a restart. */
    const started = new Set<number>();
    const restarts: number[] = [];
    let stopping = false;
    let code = 0;
    let announced = false;
    const fork = (slot: number): void => {
      slots.set(cluster.fork({ [WORKER_SLOT_ENV]: String(slot) }), slot);
    };
    const stop = (signal: NodeJS.Signals, exitCode: number): void => {
      if (stopping) return;
      stopping = true;
      code = exitCode;
      for (const w of slots.keys()) if (!w.isDead()) w.process.kill(signal);
    };
    cluster.on('message', (w, m: Partial<ServingMessage>) => {
      if (m?.warden !== 'serving') return;
      const slot = slots.get(w);
      if (slot !== undefined) started.add(slot);
      if (!announced && started.size === n) {
        announced = true;
        log('info', 'serving', { address: m.address, workers: n });
      }
    });
    cluster.on('exit', (w, exitCode, signal) => {
      const slot = slots.get(w);
      slots.delete(w);
      if (slot !== undefined && !stopping) {
        if (!started.has(slot)) {
          log('error', 'a worker failed to start: stopping', { slot, code: exitCode, signal });
          stop('SIGTERM', exitCode || 1);
        } else {
          const now = Date.now();
          restarts.push(now);
          while (restarts.length && restarts[0]! < now - 60_000) restarts.shift();
          if (restarts.length > 10) {
            log('error', 'workers keep dying (more than 10 restarts in a minute): stopping', { slot, code: exitCode, signal });
            stop('SIGTERM', 1);
          } else {
            log('warn', 'a worker died: starting it again', { slot, pid: w.process.pid, code: exitCode, signal });
            fork(slot);
          }
        }
      }
      if (stopping && slots.size === 0) resolve(code);
    });
    process.once('SIGTERM', () => stop('SIGTERM', 0));
    process.once('SIGINT', () => stop('SIGINT', 0));
    for (let slot = 1; slot <= n; slot++) fork(slot);
  });
}
