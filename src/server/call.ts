import type { sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream } from '@grpc/grpc-js';
import { WardenError } from '../errors/error-code.js';
import { toStatus } from '../errors/to-status.js';
import type { TenantState } from '../api/tenant-state.js';

/** What a handler knows of its call: the tenant it acts for, and a signal for cancel and deadline. */
export interface CallContext {
  readonly tenant: TenantState;
  readonly signal: AbortSignal;
}

/** Resolves a call's tenant from its metadata (authentication); throws UNAUTHENTICATED or PERMISSION_DENIED. */
export type Authenticate = (call: { readonly metadata: import('@grpc/grpc-js').Metadata }, scope: Scope) => TenantState | Promise<TenantState>;

/** What a method needs a key to be allowed: permission reads, relationship reads, writes, schema. */
export type Scope = 'check' | 'read' | 'write' | 'schema' | 'admin';

/** Logs errors whose cause must not reach the client. */
export type ErrorLog = (e: unknown, method: string) => void;

/** The longest any call may run, whatever deadline its client set. */
export const MAX_CALL_MS = 60_000;

/** The longest a Watch may run, whatever deadline its client set: clients reconnect from their last zookie. */
export const MAX_WATCH_MS = 60 * 60 * 1000;

function signalFor(
  call: { getDeadline(): Date | number; on(event: 'cancelled', fn: () => void): unknown },
  maxMs = MAX_CALL_MS,
): { signal: AbortSignal; done: () => void } {
  const controller = new AbortController();
  const deadline = call.getDeadline();
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  const ms = Number.isFinite(at) ? Math.min(maxMs, Math.max(0, at - Date.now())) : maxMs;
  const timer = setTimeout(() => controller.abort(new WardenError('DEADLINE_EXCEEDED', 'the deadline was exceeded')), ms);
  call.on('cancelled', () => controller.abort(new WardenError('CANCELLED', 'the request was cancelled')));
  return { signal: controller.signal, done: () => clearTimeout(timer) };
}

/** Wraps a unary handler: authentication, deadline, and the one error mapping. */
export function unary<Req, Res>(
  method: string,
  scope: Scope,
  authenticate: Authenticate,
  log: ErrorLog,
  handler: (req: Req, ctx: CallContext) => Promise<Res>,
): (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const { signal, done } = signalFor(call);
    reply(method, log, signal, done, callback, async () => handler(call.request, { tenant: await authenticate(call, scope), signal }));
  };
}

/** Wraps a server-streaming handler the same way; `send` waits when the client reads slowly. */
export function serverStream<Req, Res>(
  method: string,
  scope: Scope,
  authenticate: Authenticate,
  log: ErrorLog,
  handler: (req: Req, ctx: CallContext, send: (res: Res) => Promise<void>) => Promise<void>,
  maxMs = MAX_CALL_MS,
): (call: ServerWritableStream<Req, Res>) => void {
  return (call) => {
    const { signal, done } = signalFor(call, maxMs);
    const send = async (res: Res): Promise<void> => {
      if (signal.aborted) throw signal.reason;
      if (!call.write(res)) await new Promise<void>((resolve) => call.once('drain', () => resolve()));
    };
    (async () => {
      const tenant = await authenticate(call, scope);
      await handler(call.request, { tenant, signal }, send);
    })().then(
      () => {
        done();
        call.end();
      },
      (e: unknown) => {
        done();
        const mapped = toStatus(e);
        if (mapped.internal) log(e, method);
        call.emit('error', mapped.error);
      },
    );
  };
}

/** Wraps a client-streaming handler: the handler reads the request messages as an async iterable. */
export function clientStream<Req, Res>(
  method: string,
  scope: Scope,
  authenticate: Authenticate,
  log: ErrorLog,
  handler: (requests: AsyncIterable<Req>, ctx: CallContext) => Promise<Res>,
): (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>) => void {
  return (call, callback) => {
    const { signal, done } = signalFor(call);
    reply(method, log, signal, done, callback, async () => handler(call as AsyncIterable<Req>, { tenant: await authenticate(call, scope), signal }));
  };
}

/** Runs a handler and answers a unary or client-streaming call with its result or its mapped error. */
function reply<Res>(method: string, log: ErrorLog, signal: AbortSignal, done: () => void, callback: sendUnaryData<Res>, run: () => Promise<Res>): void {
  run().then(
    (res) => {
      done();
      callback(null, res);
    },
    (e: unknown) => {
      done();
      const mapped = toStatus(signal.aborted && !(e instanceof WardenError) ? signal.reason : e);
      if (mapped.internal) log(e, method);
      callback(mapped.error);
    },
  );
}
