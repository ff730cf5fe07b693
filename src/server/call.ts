import { checkResourceTypes } from './resource-types.js';
import { Metadata, type sendUnaryData, type ServerReadableStream, type ServerUnaryCall, type ServerWritableStream } from '@grpc/grpc-js';
import { WardenError } from '../errors/error-code.js';
import { internalStatus, toStatus, type MappedStatus } from '../errors/to-status.js';
import type { TenantState } from '../api/tenant-state.js';
import { RETRY_AFTER_MS, type Admission } from './admission.js';

/** What a handler knows of its call: the tenant it acts for, and a signal for cancel and deadline. */
export interface CallContext {
  readonly tenant: TenantState;
  readonly signal: AbortSignal;
  /** Who made the call (the key), for the audit history; absent without keys (insecure, testing). */
  readonly actor?: Actor | null;
  /** The call's request id (the caller's `x-request-id`, or one made for it). */
  readonly requestId?: () => string;
}

/** The key a call was made with: its id and the tenant it belongs to. */
export interface Actor {
  readonly keyId: string;
  readonly tenant: string;
  /** The resource types the key's calls may name (absent or null: any). */
  readonly resourceTypes?: readonly string[] | null;
  /** Calls the key may have running at once in this process (absent or null: no limit of its own). */
  readonly maxInFlight?: number | null;
}

/** An authenticated call: the tenant it acts for, and the key that made it. */
export interface Caller {
  readonly tenant: TenantState;
  readonly actor: Actor | null;
}

/**
 * Resolves a call's tenant from its metadata (authentication), with the key that made it where
 * there is one; throws UNAUTHENTICATED or PERMISSION_DENIED.
 */
export type Authenticate = (call: { readonly metadata: import('@grpc/grpc-js').Metadata }, scope: Scope) => TenantState | Caller | Promise<TenantState | Caller>;

/** What an authentication gave, as a caller. */
async function callerOf(found: TenantState | Caller | Promise<TenantState | Caller>): Promise<Caller> {
  const c = await found;
  return 'actor' in c ? c : { tenant: c, actor: null };
}

/** What a method needs a key to be allowed: permission reads, relationship reads, writes, schema. */
export type Scope = 'check' | 'read' | 'write' | 'schema' | 'admin';

/** Logs errors whose cause must not reach the client (with the call's request id). */
export type ErrorLog = (e: unknown, method: string, requestId?: string) => void;

/** What the server makes of each call for logs, metrics and traces (see `telemetry/call-telemetry.ts`). */
export interface CallObserver {
  /** The observer of one method's calls, made once when the method is registered. */
  for(method: string): (metadata: Metadata) => CallObservation;
}

/** One call as observed, from its start to its status. */
export interface CallObservation {
  /** The caller's `x-request-id`, or one made for the call when first asked for. */
  readonly requestId: string;
  /** True when the caller sent its own request id: it is sent back in the response headers. */
  readonly echo: boolean;
  /** Runs the call's work inside its trace context (as it is, untraced). */
  run<T>(fn: () => Promise<T>): Promise<T>;
  /** The tenant the call acts for, once authenticated. */
  tenant(name: string): void;
  /** An error whose cause must not reach the client: logged with the request id. */
  internal(e: unknown): void;
  /** The call ended with this gRPC status code. */
  end(code: number): void;
}

/** The response header that carries the request id. */
export const REQUEST_ID_HEADER = 'x-request-id';

/** Response headers naming the call's request id. */
function requestIdHeaders(obs: CallObservation): Metadata {
  const md = new Metadata();
  md.set(REQUEST_ID_HEADER, obs.requestId);
  return md;
}

/** The longest any call may run, whatever deadline its client set. */
export const MAX_CALL_MS = 60_000;

/** The longest a Watch may run, whatever deadline its client set: clients reconnect from their last zookie. */
export const MAX_WATCH_MS = 60 * 60 * 1000;

/**
 * How long after a client stream ends a reset may still show (see `messages`). 5 ms was enough on
 * an idle machine; with two test files running on two cores a cancelled Import's reset came later
 * and the import committed (test/hardening/edge.test.ts). A client stream is an import, where
 * 50 ms is nothing beside the work.
 */
const END_GRACE_MS = 50;

/** Marks a request message that could not be decoded (see `tolerantDeserializer`). */
const MALFORMED = Symbol('malformed');

/**
 * A request deserializer that never throws. grpc-js answers a message it cannot decode with
 * INTERNAL; the fault is the client's, so the message is passed on marked, and the call
 * wrappers answer it INVALID_ARGUMENT naming the message type.
 */
export function tolerantDeserializer<T>(deserialize: (bytes: Buffer) => T, typeName: string): (bytes: Buffer) => T {
  return (bytes) => {
    try {
      return deserialize(bytes);
    } catch (e) {
      return { [MALFORMED]: `the request is not a valid ${typeName} message: ${e instanceof Error ? e.message : String(e)}` } as T;
    }
  };
}

/** Throws INVALID_ARGUMENT for a message `tolerantDeserializer` could not decode. */
function wellFormed<T>(message: T): T {
  const bad = (message as { [MALFORMED]?: string } | null)?.[MALFORMED];
  if (bad !== undefined) throw new WardenError('INVALID_ARGUMENT', bad.slice(0, 500), { field: 'request' });
  return message;
}

function signalFor(
  call: { getDeadline(): Date | number; on(event: 'cancelled', fn: () => void): unknown },
  maxMs = MAX_CALL_MS,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const ms = Number.isFinite(at) ? Math.min(maxMs, Math.max(0, at - Date.now())) : maxMs;
  const timer = setTimeout(() => controller.abort(new WardenError('DEADLINE_EXCEEDED', 'the deadline was exceeded')), ms);
  // grpc-js also reports `cancelled` for calls already answered (the client closing its stream):
  // after `done` nobody listens, so no error (and its stack trace) is made for them.
  let finished = false;
  call.on('cancelled', () => {
    if (!finished) controller.abort(new WardenError('CANCELLED', 'the request was cancelled'));
  });
  return {
    signal: controller.signal,
    done: () => {
      finished = true;
      clearTimeout(timer);
    },
  };
}

/** Wraps a unary handler: authentication, deadline, and the one error mapping. */
export function unary<Req, Res>(
  method: string,
  scope: Scope,
  authenticate: Authenticate,
  observer: CallObserver,
  handler: (req: Req, ctx: CallContext) => Promise<Res>,
  admission: Admission | null = null,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  const begin = observer.for(method);
  return (call, callback) => {
    const obs = begin(call.metadata);
    if (obs.echo) call.sendMetadata(requestIdHeaders(obs));
    const { signal, done } = signalFor(call);
    reply(obs, signal, done, callback, async () => {
      const { ctx, request } = await callContext(call, scope, authenticate, obs, method, signal, () => wellFormed(call.request));
      return admitted(admission, ctx, () => handler(request, ctx));
    });
  };
}

/**
 * Who is asking comes first: an unauthenticated caller learns nothing of its message, which is
 * decoded (`decode`) only then. Gives the context handlers get and the request, held to the key's
 * resource types (a request that cannot be inspected whole, a stream, names none).
 */
async function callContext<Req>(
  call: { readonly metadata: Metadata },
  scope: Scope,
  authenticate: Authenticate,
  obs: CallObservation,
  method: string,
  signal: AbortSignal,
  decode: () => Req,
  inspectable = true,
): Promise<{ ctx: CallContext; request: Req }> {
  const { tenant, actor } = await callerOf(authenticate(call, scope));
  obs.tenant(tenant.name);
  const request = decode();
  if (actor?.resourceTypes) checkResourceTypes(method, inspectable ? request : {}, actor.resourceTypes);
  return { ctx: { tenant, signal, actor, requestId: () => obs.requestId }, request };
}

/** Runs `fn` once admission control lets the call in (at once without it), within the key's own cap on calls running. */
async function admitted<T>(admission: Admission | null, ctx: CallContext, fn: () => Promise<T>): Promise<T> {
  const keyDone = keyTurn(ctx.actor ?? null);
  try {
    if (!admission) return await fn();
    const release = await admission.enter(ctx.signal, ctx.tenant.name);
    try {
      return await fn();
    } finally {
      release();
    }
  } finally {
    keyDone();
  }
}

/** Calls running now, per key that has a concurrency limit of its own (in this process). */
const keyCalls = new Map<string, number>();

/** Takes one of a key's running-call slots (refused RESOURCE_EXHAUSTED when it has none left); returns its release. */
function keyTurn(actor: Actor | null): () => void {
  const max = actor?.maxInFlight;
  if (!actor || !max) return () => {};
  const id = actor.keyId;
  const running = keyCalls.get(id) ?? 0;
  if (running >= max) {
    throw new WardenError('RESOURCE_EXHAUSTED', `this API key has ${running} calls running, its most: retry after a short backoff`, { retryAfterMs: RETRY_AFTER_MS });
  }
  keyCalls.set(id, running + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    const left = (keyCalls.get(id) ?? 1) - 1;
    if (left > 0) keyCalls.set(id, left);
    else keyCalls.delete(id);
  };
}

/** Wraps a server-streaming handler the same way; `send` waits when the client reads slowly. */
export function serverStream<Req, Res>(
  method: string,
  scope: Scope,
  authenticate: Authenticate,
  observer: CallObserver,
  handler: (req: Req, ctx: CallContext, send: (res: Res) => Promise<void>) => Promise<void>,
  maxMs = MAX_CALL_MS,
  admission: Admission | null = null,
): (call: ServerWritableStream<Req, Res>) => void {
  const begin = observer.for(method);
  return (call) => {
    const obs = begin(call.metadata);
    if (obs.echo) call.sendMetadata(requestIdHeaders(obs));
    const { signal, done } = signalFor(call, maxMs);
    const send = async (res: Res): Promise<void> => {
      if (signal.aborted) throw signal.reason;
      if (!call.write(res)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
    };
    obs
      .run(async () => {
        const { ctx, request } = await callContext(call, scope, authenticate, obs, method, signal, () => wellFormed(call.request));
        await admitted(admission, ctx, () => handler(request, ctx, send));
      })
      .then(
        () => {
          done();
          guarded(obs, () => (call.end(), obs.end(0)), (err) => call.emit('error', err));
        },
        (e: unknown) => {
          done();
          answerError(obs, e, (err) => call.emit('error', err));
        },
      );
  };
}

/** Wraps a client-streaming handler: the handler reads the request messages as an async iterable. */
export function clientStream<Req, Res>(
  method: string,
  scope: Scope,
  authenticate: Authenticate,
  observer: CallObserver,
  handler: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>,
  admission: Admission | null = null,
): (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>) => void {
  const begin = observer.for(method);
  return (call, callback) => {
    const obs = begin(call.metadata);
    if (obs.echo) call.sendMetadata(requestIdHeaders(obs));
    const { signal, done } = signalFor(call);
    reply(obs, signal, done, callback, async () => {
      // A stream's messages are not all at hand: a key held to resource types may not send one.
      const { ctx, request } = await callContext(call, scope, authenticate, obs, method, signal, () => messages<Req>(call as never), false);
      return admitted(admission, ctx, () => handler(request, ctx));
    });
  };
}

/**
 * A client stream's messages. A client that goes away mid-stream (cancels, or drops the
 * connection) ends it with CANCELLED: its own doing, not an internal error worth a log line.
 */
async function* messages<Req>(call: AsyncIterable<Req> & { readonly cancelled?: boolean } & Pick<NodeJS.EventEmitter, 'once' | 'off'>): AsyncGenerator<Req> {
  try {
    for await (const m of call) yield wellFormed(m);
    // Node's HTTP/2 ends a reset stream's readable side before it reports the reset, so an end
    // may be a cancel in disguise: give the reset a moment to show before the stream counts as
    // complete (whatever commits on it must not commit half a request).
    if (!call.cancelled) {
      let onCancel!: () => void;
      await Promise.race([new Promise<void>((r) => call.once('cancelled', (onCancel = r))), new Promise((r) => setTimeout(r, END_GRACE_MS))]);
      call.off('cancelled', onCancel);
    }
    if (call.cancelled) throw new WardenError('CANCELLED', 'the client closed the stream before ending it');
  } catch (e) {
    if (e instanceof WardenError) throw e;
    if (call.cancelled || (e as { code?: unknown })?.code === 'ERR_STREAM_PREMATURE_CLOSE') {
      throw new WardenError('CANCELLED', 'the client closed the stream before ending it', { cause: e });
    }
    throw e;
  }
}

/** Runs a handler and answers a unary or client-streaming call with its result or its mapped error. */
function reply<Res>(obs: CallObservation, signal: AbortSignal, done: () => void, callback: sendUnaryData<Res>, run: () => Promise<Res>): void {
  obs.run(run).then(
    (res) => {
      done();
      guarded(obs, () => (callback(null, res), obs.end(0)), (err) => callback(err));
    },
    (e: unknown) => {
      done();
      answerError(obs, signal.aborted && !(e instanceof WardenError) ? signal.reason : e, (err) => callback(err), e);
    },
  );
}

/**
 * Maps an error to its status and sends it. Nothing thrown on this path may end the process
 * (an exception in a promise's rejection handler would be unhandled): the last-resort guard
 * logs it and answers INTERNAL.
 */
function answerError(obs: CallObservation, e: unknown, send: (err: MappedStatus['error']) => void, cause: unknown = e): void {
  guarded(
    obs,
    () => {
      const mapped = toStatus(e);
      if (mapped.internal) obs.internal(cause);
      send(mapped.error);
      obs.end(mapped.error.code);
    },
    send,
  );
}

/** Runs `fn`; if it throws, logs the error and sends a plain INTERNAL status instead (once, guarded itself). */
function guarded(obs: CallObservation, fn: () => void, send: (err: MappedStatus['error']) => void): void {
  try {
    fn();
  } catch (e) {
    try {
      obs.internal(e);
      send(internalStatus());
      obs.end(13);
    } catch {
      // The call is beyond answering (its stream is gone); the process goes on.
    }
  }
}
