import { connect, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import type { MethodDefinition } from '@grpc/grpc-js';
import { loadApi } from '../src/server/proto.js';
import { frame, unframe } from './grpc-wire.js';
import type { LoadJob, Op, StartMessage, WorkerResult } from './load-job.js';

// One driver worker: its own HTTP/2 connections, requests encoded up front, answers decoded only
// where a scenario must look inside them (listing cursors, mixed reads). Latency is measured from
// when a call was due: in the open loop that is its schedule, so a slow server cannot hide its
// queueing (no coordinated omission).

const job = workerData as LoadJob;
const histogram = () => hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 120_000_000, numberOfSignificantValueDigits: 3 });

const { definition } = loadApi();
const methods = new Map<string, MethodDefinition<unknown, unknown>>();
for (const [service, def] of Object.entries(definition)) {
  if (!service.startsWith('warden.v1.') || 'format' in def) continue;
  for (const m of Object.values(def as Record<string, MethodDefinition<unknown, unknown>>)) methods.set(m.path, m);
}

const sessions: ClientHttp2Session[] = [];
const origin = `${job.target.tls ? 'https' : 'http'}://${job.target.host}:${job.target.port}`;
for (let i = 0; i < job.connections; i++) {
  const s = connect(origin, job.target.tls ? { ...(job.target.ca ? { ca: job.target.ca } : {}) } : {});
  s.on('error', () => {});
  sessions.push(s);
}
let nextSession = 0;
const headersFor = new Map<string, OutgoingHttpHeaders>();
function headers(path: string): OutgoingHttpHeaders {
  let h = headersFor.get(path);
  if (!h) {
    h = { ':method': 'POST', ':path': path, 'content-type': 'application/grpc', te: 'trailers', 'grpc-timeout': '60S' };
    if (job.token) h['authorization'] = `Bearer ${job.token}`;
    headersFor.set(path, h);
  }
  return h;
}

interface Answer {
  readonly status: string;
  readonly messages: Buffer[];
  readonly firstByteAt: number | null;
}

/** One gRPC call over a pooled connection; `keep` asks for the response bytes. */
function call(path: string, body: Buffer, keep: boolean): Promise<Answer> {
  return new Promise((resolve) => {
    const session = sessions[nextSession++ % sessions.length]!;
    let status: string | null = null;
    let firstByteAt: number | null = null;
    const chunks: Buffer[] = [];
    let req;
    try {
      req = session.request(headers(path));
    } catch {
      resolve({ status: 'TRANSPORT', messages: [], firstByteAt: null });
      return;
    }
    const onHeaders = (h: IncomingHttpHeaders): void => {
      const s = h['grpc-status'];
      if (s !== undefined) status = String(s);
      else if (h[':status'] !== undefined && Number(h[':status']) !== 200) status = `HTTP_${String(h[':status'])}`;
    };
    req.on('response', onHeaders);
    req.on('trailers', onHeaders);
    req.on('data', (c: Buffer) => {
      firstByteAt ??= performance.now();
      if (keep) chunks.push(c);
    });
    req.on('error', () => {});
    req.on('close', () => resolve({ status: status ?? 'TRANSPORT', messages: keep ? unframe(Buffer.concat(chunks)) : [], firstByteAt }));
    req.end(body);
  });
}

const encode = (path: string, message: unknown): Buffer => frame(methods.get(path)!.requestSerialize(message));
const decode = (path: string, bytes: Buffer): Record<string, unknown> => methods.get(path)!.responseDeserialize(bytes) as Record<string, unknown>;
const framed = job.ops.map((op) => (op.kind === 'unary' ? frame(op.body) : null));

// Ready once every connection is open (or has failed: its calls then count as transport errors);
// then the driver names the start, the same for every worker.
await Promise.all(sessions.map((s) => new Promise<void>((resolve) => (s.connecting ? (s.once('connect', () => resolve()), s.once('error', () => resolve())) : resolve()))));
const startAt = await new Promise<number>((resolve) => {
  // (`once`: a port with a listener keeps the worker alive after its work is done.)
  parentPort!.once('message', (m: StartMessage) => resolve('startAt' in m ? m.startAt : Date.now()));
  parentPort!.postMessage({ ready: true } satisfies StartMessage);
});

const all = histogram();
const ttfb = histogram();
let hasTtfb = false;
const seconds: { ops: number; errors: number; h: hdr.Histogram }[] = [];
const errors: Record<string, number> = {};
let ops = 0;
let items = 0;
let results = 0;
let violations = 0;
let writes = 0;
let late = 0;
let exhausted = false;
let cursor = 0;
const measureFrom = startAt + job.warmupMs;
const endAt = measureFrom + job.durationMs;
// performance.now() and Date.now() differ by a constant: measure on the monotonic clock.
const toMono = (epochMs: number): number => epochMs - Date.now() + performance.now();
const monoMeasureFrom = toMono(measureFrom);
const monoEnd = toMono(endAt);

let unfinished = 0;
function record(due: number, done: number, status: string, firstByteAt: number | null, count: number, found: number): void {
  if (due < monoEnd && done > monoEnd) unfinished++;
  if (due < monoMeasureFrom || done > monoEnd) return;
  const us = Math.max(1, Math.round((done - due) * 1000));
  all.recordValue(us);
  const sec = Math.floor((done - monoMeasureFrom) / 1000);
  const slot = (seconds[sec] ??= { ops: 0, errors: 0, h: histogram() });
  slot.ops++;
  slot.h.recordValue(us);
  ops++;
  items += count;
  results += found;
  if (status !== '0') {
    errors[status] = (errors[status] ?? 0) + 1;
    slot.errors++;
  }
  if (firstByteAt !== null) {
    hasTtfb = true;
    ttfb.recordValue(Math.max(1, Math.round((firstByteAt - due) * 1000)));
  }
}

function nextOp(): Op | null {
  if (job.order === 'once') {
    if (cursor >= job.ops.length) {
      exhausted = true;
      return null;
    }
    return job.ops[cursor++]!;
  }
  return job.ops[cursor++ % job.ops.length]!;
}

/** Per slot: the write the next call must see. */
const pendingRead = new Map<number, { zookie: unknown; resource: string; subject: string }>();
let writeSeq = 0;
const MIXED_CHECK = '/warden.v1.PermissionService/Check';
const MIXED_WRITE = '/warden.v1.RelationshipService/Write';

/** Runs one call of the scenario for a slot, from when it was due; false when there is nothing left to do. */
async function runOne(slot: number, due: number): Promise<boolean> {
  const m = job.mixed;
  const seen = pendingRead.get(slot);
  if (m && seen) {
    pendingRead.delete(slot);
    const [type, id] = seen.resource.split(':') as [string, string];
    const request = { consistency: { at_least_as_fresh: seen.zookie }, resource: { object_type: type, object_id: id }, permission: m.permission, subject: { object: { object_type: 'user', object_id: seen.subject }, optional_relation: '' } };
    const a = await call(MIXED_CHECK, encode(MIXED_CHECK, request), true);
    const answer = a.status === '0' && a.messages[0] ? decode(MIXED_CHECK, a.messages[0]) : null;
    // Writes are counted with the read that checks them: a write at the very end has none.
    writes++;
    if (a.status === '0' && answer?.['permissionship'] !== 'PERMISSIONSHIP_HAS_PERMISSION') violations++;
    record(due, performance.now(), a.status, null, 1, 0);
    return true;
  }
  if (m && Math.random() < m.writeShare) {
    const n = writeSeq++;
    const resource = `${m.type}:mixed-w${job.worker}-${n}`;
    const subject = `mixed-${job.worker}-${n}`;
    const request = {
      updates: [{ operation: 'OPERATION_TOUCH', relationship: { resource: { object_type: m.type, object_id: resource.split(':')[1] }, relation: m.relation, subject: { object: { object_type: 'user', object_id: subject }, optional_relation: '' } } }],
    };
    const a = await call(MIXED_WRITE, encode(MIXED_WRITE, request), true);
    if (a.status === '0' && a.messages[0]) pendingRead.set(slot, { zookie: decode(MIXED_WRITE, a.messages[0])['written_at'], resource, subject });
    record(due, performance.now(), a.status, null, 1, 0);
    return true;
  }
  const index = cursor;
  const op = nextOp();
  if (!op) return false;
  if (op.kind === 'unary') {
    const a = await call(op.path, framed[index % job.ops.length]!, false);
    record(due, performance.now(), a.status, null, op.items, 0);
    return true;
  }
  // A listing: page after page until the last message carries no cursor.
  const path = `/warden.v1.${op.service}/${op.method}`;
  let request: Record<string, unknown> = { ...op.request };
  let firstByteAt: number | null = null;
  let found = 0;
  let status = '0';
  for (;;) {
    const a = await call(path, encode(path, request), true);
    firstByteAt ??= a.firstByteAt;
    status = a.status;
    found += a.messages.length;
    const last = a.messages.length ? decode(path, a.messages[a.messages.length - 1]!) : null;
    const next = typeof last?.['cursor'] === 'string' ? (last['cursor'] as string) : '';
    if (status !== '0' || !next) break;
    request = { ...op.request, cursor: next, consistency: undefined };
  }
  record(due, performance.now(), status, firstByteAt, 1, found);
  return true;
}

async function closedLoop(concurrency: number): Promise<void> {
  const monoStart = toMono(startAt);
  await new Promise((r) => setTimeout(r, Math.max(0, monoStart - performance.now())));
  await Promise.all(
    Array.from({ length: concurrency }, async (_, slot) => {
      while (performance.now() < monoEnd) {
        if (!(await runOne(slot, performance.now()))) return;
      }
    }),
  );
}

/** The most calls one worker keeps in flight in the open loop before it counts further ones late. */
const MAX_IN_FLIGHT = 4096;

async function openLoop(rate: number): Promise<void> {
  const monoStart = toMono(startAt);
  const interval = 1000 / rate;
  let k = 0;
  let inFlight = 0;
  const running = new Set<Promise<unknown>>();
  for (;;) {
    const now = performance.now();
    if (now >= monoEnd) break;
    // Start every call whose time has come; each one's latency counts from its due time.
    while (monoStart + k * interval <= now) {
      const due = monoStart + k * interval;
      k++;
      if (inFlight >= MAX_IN_FLIGHT) {
        late++;
        continue;
      }
      inFlight++;
      const p = runOne(k, due).then((more) => {
        inFlight--;
        running.delete(p);
        if (!more) exhausted = true;
      });
      running.add(p);
    }
    if (exhausted) break;
    const wait = monoStart + k * interval - performance.now();
    await new Promise((r) => (wait > 1 ? setTimeout(r, Math.min(wait, 50)) : setImmediate(r)));
  }
  await Promise.all(running);
}

// Progress for the live line: calls completed each second.
let reported = 0;
const ticker = setInterval(() => {
  parentPort!.postMessage({ progress: ops - reported });
  reported = ops;
}, 1000);
const elu0 = performance.eventLoopUtilization();
if (job.mode.kind === 'closed') await closedLoop(job.mode.concurrency);
else await openLoop(job.mode.rate);
const elu = performance.eventLoopUtilization(elu0).utilization;
clearInterval(ticker);
for (const s of sessions) s.close();
const result: WorkerResult = {
  histogram: hdr.encodeIntoCompressedBase64(all),
  ttfb: hasTtfb ? hdr.encodeIntoCompressedBase64(ttfb) : null,
  ops,
  items,
  errors,
  violations,
  writes,
  seconds: Array.from({ length: Math.ceil(job.durationMs / 1000) }, (_, i) => {
    const s = seconds[i];
    return { ops: s?.ops ?? 0, errors: s?.errors ?? 0, histogram: hdr.encodeIntoCompressedBase64(s?.h ?? histogram()) };
  }),
  elu,
  late,
  exhausted,
  results,
  unfinished,
};
parentPort!.postMessage(result);
