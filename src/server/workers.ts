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

/** A question the primary asks its workers for the ops endpoint, and a worker's answer. */
interface OpsQuestion {
  readonly warden: 'ops';
  readonly id: number;
  readonly what: 'metrics' | 'readiness';
}
interface OpsAnswer {
  readonly warden: 'ops-answer';
  readonly id: number;
  readonly slot: number;
  readonly value: unknown;
}

/** In a worker: answers the primary's ops questions (its metrics text, its readiness). */
export function answerOpsQuestions(sources: { metrics: (() => Promise<string>) | null; readiness: () => unknown }): void {
  if (!cluster.isWorker || !process.send) return;
  const slot = workerSlot() ?? 0;
  process.on('message', (m: Partial<OpsQuestion>) => {
    if (m?.warden !== 'ops' || typeof m.id !== 'number') return;
    const id = m.id;
    const answer = m.what === 'metrics' ? (sources.metrics?.() ?? Promise.resolve('')) : Promise.resolve(sources.readiness());
    answer.then(
      (value) => process.send?.({ warden: 'ops-answer', id, slot, value } satisfies OpsAnswer),
      () => process.send?.({ warden: 'ops-answer', id, slot, value: null } satisfies OpsAnswer),
    );
  });
}

let nextQuestion = 0;

/**
 * In the primary: asks every live worker and collects the answers that come within `timeoutMs`
 * (a worker that does not answer is left out; the caller sees how many answered).
 */
export function askWorkers(what: OpsQuestion['what'], timeoutMs = 2_000): Promise<{ slot: number; value: unknown }[]> {
  const workers = Object.values(cluster.workers ?? {}).filter((w): w is Worker => !!w && !w.isDead() && w.isConnected());
  const id = ++nextQuestion;
  return new Promise((resolve) => {
    const answers: { slot: number; value: unknown }[] = [];
    const finish = (): void => {
      clearTimeout(timer);
      cluster.off('message', onMessage);
      resolve(answers.sort((a, b) => a.slot - b.slot));
    };
    const onMessage = (_w: Worker, m: Partial<OpsAnswer>): void => {
      if (m?.warden !== 'ops-answer' || m.id !== id) return;
      answers.push({ slot: m.slot ?? 0, value: m.value });
      if (answers.length === workers.length) finish();
    };
    const timer = setTimeout(finish, timeoutMs);
    cluster.on('message', onMessage);
    if (!workers.length) finish();
    for (const w of workers) w.send({ warden: 'ops', id, what } satisfies OpsQuestion);
  });
}

/**
 * Merges the Prometheus texts of several workers into one exposition: each metric family once
 * (its HELP and TYPE), with every sample labelled `worker="N"`, so a scrape of the server sees
 * all its workers (`sum without (worker) (...)` adds them up).
 */
export function mergeMetricsTexts(texts: readonly { slot: number; text: string }[]): string {
  const families = new Map<string, { head: string[]; samples: string[] }>();
  for (const { slot, text } of texts) {
    let family: { head: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta) {
        const name = meta[2]!;
        family = families.get(name);
        if (!family) families.set(name, (family = { head: [], samples: [] }));
        if (family.head.length < 2 && !family.head.some((h) => h.startsWith(`# ${meta[1]} `))) family.head.push(line);
        continue;
      }
      if (line.startsWith('#')) continue;
      if (!family) families.set('', (family = { head: [], samples: [] }));
      const brace = line.indexOf('{');
      const space = line.indexOf(' ');
      family.samples.push(brace !== -1 && brace < space ? `${line.slice(0, brace + 1)}worker="${slot}",${line.slice(brace + 1)}` : `${line.slice(0, space)}{worker="${slot}"}${line.slice(space)}`);
    }
  }
  return [...families.values()].map((f) => [...f.head, ...f.samples].join('\n')).join('\n') + '\n';
}
