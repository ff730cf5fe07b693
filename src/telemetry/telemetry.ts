import { context, createNoopMeter, trace, type Attributes, type Context, type Meter, type Span, type Tracer } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, type MetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor, ParentBasedSampler, SimpleSpanProcessor, TraceIdRatioBasedSampler, TracerProvider, type SpanExporter } from '@opentelemetry/sdk-trace';
import type { CheckCacheTier } from '../cache/check-cache.js';
import type { Decision } from '../engine/condition.js';
import type { Dispatcher } from '../engine/dispatch/dispatcher.js';
import type { EngineObserver } from '../engine/engine-observer.js';
import type { RequestStats } from '../engine/scope.js';
import type { SnapshotReader } from '../store/store.js';
import type { Logger } from './logger.js';
import { WardenMetrics } from './metrics.js';
import { ObservedReader, TracingCacheTier, TracingDispatcher } from './tracing-decorators.js';

/** How telemetry is set up; everything is off unless asked for. */
export interface TelemetryOptions {
  readonly serviceName?: string;
  /** Serve metrics to Prometheus (through `metricsHandler`). */
  readonly prometheus?: boolean;
  /** Export traces and metrics over OTLP/HTTP to this collector (e.g. `http://collector:4318`). */
  readonly otlpEndpoint?: string;
  /** Share of calls traced when the caller's traceparent did not decide (default 0.1). */
  readonly traceSampleRatio?: number;
  /** Spans also go here, unbatched (tests use the in-memory exporter). */
  readonly spanExporter?: SpanExporter;
  /** Metrics also go to this reader (tests). */
  readonly metricReader?: MetricReader;
  /** The engine's greatest depth, to report each dispatch's depth from the top. */
  readonly maxDepth?: number;
  readonly logger: Logger;
}

let contextManagerSet = false;

/** Reads W3C trace context from gRPC metadata (a Metadata's getMap, lower-case keys). */
const METADATA_GETTER = {
  keys: (carrier: Record<string, unknown>): string[] => Object.keys(carrier),
  get: (carrier: Record<string, unknown>, key: string): string | undefined => {
    const v = carrier[key];
    return typeof v === 'string' ? v : undefined;
  },
};

/**
 * Warden's OpenTelemetry: a tracer (when spans are exported anywhere), the meters behind the
 * metrics (when Prometheus or OTLP is on; a no-op meter otherwise, so an instrument costs a call
 * that does nothing) and the logger. One per server process.
 */
export class Telemetry {
  readonly logger: Logger;
  /** Null when no span goes anywhere: then nothing is traced and no context is tracked. */
  readonly tracer: Tracer | null;
  readonly metrics: WardenMetrics;
  /** The metrics in Prometheus' text format; null unless `prometheus` was asked for. */
  readonly metricsText: (() => Promise<string>) | null;
  readonly #tracerProvider: TracerProvider | null;
  readonly #meterProvider: MeterProvider | null;
  readonly #propagator = new W3CTraceContextPropagator();
  readonly #maxDepth: number;

  private constructor(o: TelemetryOptions, parts: { tracerProvider: TracerProvider | null; meterProvider: MeterProvider | null; text: Telemetry['metricsText'] }) {
    this.logger = o.logger;
    this.#tracerProvider = parts.tracerProvider;
    this.#meterProvider = parts.meterProvider;
    this.tracer = parts.tracerProvider?.getTracer('warden') ?? null;
    const meter: Meter = parts.meterProvider?.getMeter('warden') ?? createNoopMeter();
    this.metrics = new WardenMetrics(meter, !!parts.meterProvider);
    this.metricsText = parts.text;
    this.#maxDepth = o.maxDepth ?? 50;
  }

  /** Sets telemetry up as asked (loading the exporters only when they are used). */
  static async start(o: TelemetryOptions): Promise<Telemetry> {
    const resource = resourceFromAttributes({ 'service.name': o.serviceName ?? 'warden', 'service.version': '0.1.0', 'process.pid': process.pid });
    let tracerProvider: TracerProvider | null = null;
    const spanProcessors = [];
    if (o.otlpEndpoint) {
      const { OTLPTraceExporter } = await import('@opentelemetry/exporter-trace-otlp-http');
      spanProcessors.push(new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${o.otlpEndpoint.replace(/\/$/, '')}/v1/traces` }) }));
    }
    if (o.spanExporter) spanProcessors.push(new SimpleSpanProcessor({ exporter: o.spanExporter }));
    if (spanProcessors.length) {
      tracerProvider = new TracerProvider({ resource, sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(o.traceSampleRatio ?? 0.1) }), spanProcessors });
      // Spans nest through awaits only with a context manager; set once per process, and only when tracing.
      if (!contextManagerSet) {
        context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
        contextManagerSet = true;
      }
    }
    const readers: MetricReader[] = [];
    let text: Telemetry['metricsText'] = null;
    if (o.prometheus) {
      const { PrometheusExporter, PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
      // Served by our own endpoint (beside the probes, and merged across workers), not the exporter's.
      const exporter = new PrometheusExporter({ preventServerStart: true });
      const serializer = new PrometheusSerializer();
      readers.push(exporter);
      text = async () => serializer.serialize((await exporter.collect()).resourceMetrics);
    }
    if (o.otlpEndpoint) {
      const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-http');
      const { PeriodicExportingMetricReader } = await import('@opentelemetry/sdk-metrics');
      readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: `${o.otlpEndpoint.replace(/\/$/, '')}/v1/metrics` }), exportIntervalMillis: 15_000 }));
    }
    if (o.metricReader) readers.push(o.metricReader);
    const meterProvider = readers.length ? new MeterProvider({ resource, readers }) : null;
    return new Telemetry(o, { tracerProvider, meterProvider, text });
  }

  /** Telemetry with nothing exported: metrics are no-ops, nothing is traced. */
  static off(logger: Logger): Telemetry {
    return new Telemetry({ logger }, { tracerProvider: null, meterProvider: null, text: null });
  }

  /**
   * Starts a call's server span (a child of the caller's, from its `traceparent` metadata), or
   * returns null when tracing is off. The span carries the method; the caller adds the rest.
   */
  startCallSpan(method: string, metadata: Readonly<Record<string, unknown>>): { span: Span; context: Context } | null {
    if (!this.tracer) return null;
    const parent = metadata['traceparent'] !== undefined ? this.#propagator.extract(context.active(), metadata, METADATA_GETTER) : context.active();
    const dot = method.lastIndexOf('.');
    const attributes: Attributes = { 'rpc.system': 'grpc', 'rpc.service': method.slice(0, dot), 'rpc.method': method.slice(dot + 1) };
    const span = this.tracer.startSpan(method, { kind: 1 /* SERVER */, attributes }, parent);
    // A call the sampler left out records nothing, and nothing under it would: it is not traced
    // at all (no context to carry through its awaits), which keeps tracing's cost to sampled calls.
    if (!span.isRecording()) {
      span.end();
      return null;
    }
    return { span, context: trace.setSpan(parent, span) };
  }

  /** The engine's view of telemetry: decorators for traced requests, read latency, checks counted. */
  engineObserver(): EngineObserver {
    const tracer = this.tracer;
    const metrics = this.metrics;
    const maxDepth = this.#maxDepth;
    const recordRead = (ms: number): void => metrics.storeReadDuration.record(ms);
    return {
      tracing: () => tracer !== null && trace.getSpan(context.active())?.isRecording() === true,
      dispatcher: (inner: Dispatcher) => new TracingDispatcher(inner, tracer!, maxDepth),
      tier: (inner: CheckCacheTier) => new TracingCacheTier(inner, tracer!),
      reader: (inner: SnapshotReader, traced: boolean) => new ObservedReader(inner, traced ? tracer : null, recordRead),
      measuresReads: metrics.enabled,
      checked: (decision: Decision, work: Readonly<RequestStats> | null) => metrics.checked(decision, work),
    };
  }

  /** Flushes and stops the exporters. */
  async shutdown(): Promise<void> {
    await Promise.allSettled([this.#tracerProvider?.shutdown(), this.#meterProvider?.shutdown()]);
  }
}
