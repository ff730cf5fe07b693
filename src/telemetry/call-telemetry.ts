import { randomUUID } from 'node:crypto';
import type { Metadata } from '@grpc/grpc-js';
import { context, SpanStatusCode, type Attributes } from '@opentelemetry/api';
import type { CallObservation, CallObserver, ErrorLog } from '../server/call.js';
import type { Telemetry } from './telemetry.js';

/** A caller's request id is kept when it is this plain (and this short); otherwise one is made. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The W3C trace context headers of a call's metadata (all a span's parent needs). */
function traceHeaders(metadata: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['traceparent', 'tracestate']) {
    const v = metadata.get(name)[0];
    if (typeof v === 'string') out[name] = v;
  }
  return out;
}

/** What the observer needs to know of a method beyond its name. */
export interface MethodTraits {
  /** Commits a change when it succeeds (counted in `warden.writes`). */
  readonly writes: boolean;
  /** A Watch stream (counted in `warden.watch.streams` while open). */
  readonly watch: boolean;
}

/** What every call of one method shares: its name, its traits, its metric attributes. */
interface MethodCalls extends MethodTraits {
  readonly method: string;
  /** The RPC histogram's attributes for a status code (made once per method and code). */
  readonly rpcAttributes: (code: number) => Attributes;
  /** The writes counter's attributes. */
  readonly written: Attributes;
}

/**
 * The server's CallObserver over telemetry: a request id per call (the caller's `x-request-id`
 * when it sent a usable one, echoed in the response headers; else one made when first needed), a server span when tracing, the RPC latency histogram, writes and
 * Watch streams counted, internal errors logged with the request id, and, at `--log-level debug`,
 * one line per call.
 */
export function callTelemetry(telemetry: Telemetry, log: ErrorLog, traits: (method: string) => MethodTraits): CallObserver {
  const { metrics, logger } = telemetry;
  return {
    // What a method's calls share is worked out once, when the method is registered.
    for(method: string): (metadata: Metadata) => CallObservation {
      const { writes, watch } = traits(method);
      const dot = method.lastIndexOf('.');
      const attributes: Attributes[] = [];
      const rpcAttributes = (code: number): Attributes =>
        (attributes[code] ??= Object.freeze({ 'rpc.system': 'grpc', 'rpc.service': method.slice(0, dot), 'rpc.method': method.slice(dot + 1), 'rpc.grpc.status_code': code }));
      const m: MethodCalls = { method, writes, watch, rpcAttributes, written: Object.freeze({ method }) };
      return (metadata) => observe(metadata, m);
    },
  };

  function observe(metadata: Metadata, { method, writes, watch, rpcAttributes, written }: MethodCalls): CallObservation {
    const given = metadata.get('x-request-id')[0];
    const echo = typeof given === 'string' && REQUEST_ID.test(given);
    // Made only when something uses it (a log line, a span): most calls never need one.
    let requestId = echo ? (given as string) : undefined;
    const id = (): string => (requestId ??= randomUUID());
    const start = performance.now();
    const traced = telemetry.tracer ? telemetry.startCallSpan(method, traceHeaders(metadata)) : null;
    if (watch) metrics.watchStreams.add(1);
    let tenant: string | undefined;
    let ended = false;
    traced?.span.setAttribute('warden.request_id', id());
    return {
      get requestId() {
        return id();
      },
      echo,
      run: (fn) => (traced ? context.with(traced.context, fn) : fn()),
      tenant(name) {
        tenant = name;
        traced?.span.setAttribute('warden.tenant', name);
      },
      internal(e) {
        log(e, method, id());
      },
      end(code) {
        if (ended) return;
        ended = true;
        const ms = performance.now() - start;
        if (metrics.enabled) {
          metrics.rpcDuration.record(ms, rpcAttributes(code));
          if (writes && code === 0) metrics.writes.add(1, written);
        }
        if (watch) metrics.watchStreams.add(-1);
        if (traced) {
          traced.span.setAttribute('rpc.grpc.status_code', code);
          if (code !== 0) traced.span.setStatus({ code: SpanStatusCode.ERROR });
          traced.span.end();
        }
        if (logger.isLevelEnabled('debug')) logger.debug({ requestId: id(), method, tenant, code, ms: Math.round(ms * 1000) / 1000 }, 'call');
      },
    };
  }
}
