// Loaded only when tracing is on (`startTracing`): the OpenTelemetry SDK, its OTLP/HTTP exporter and
// the W3C propagator, behind the small `Tracing` and `Span` interfaces the rest of Sluice uses.
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, defaultTextMapGetter, defaultTextMapSetter, trace, type AttributeValue, type Attributes, type Context, type Link, type Span as OtelSpan, type SpanContext } from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator, type ExportResult } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';
import { ATTR_ERROR_TYPE, ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';
import type { GatewayConfig, TelemetryConfig } from '../config/schema.ts';
import type { Logger } from '../logging/logger.ts';
import type { Span, SpanAttributes, SpanKindName, StartSpanOptions, TraceContext, Tracing, TracingOptions } from './tracing.ts';

const KINDS: Record<SpanKindName, SpanKind> = {
  server: SpanKind.SERVER,
  client: SpanKind.CLIENT,
  internal: SpanKind.INTERNAL,
  producer: SpanKind.PRODUCER,
  consumer: SpanKind.CONSUMER,
};

/** How long `shutdown` waits for the last export before it gives up on it. */
const SHUTDOWN_LIMIT_MS = 5_000;

/** Spans buffered for export before new ones are dropped (the SDK's 2048 fills at a few thousand jobs a second). */
const MAX_QUEUE_SIZE = 8_192;

const propagator = new W3CTraceContextPropagator();

/** The attributes worth keeping: `undefined` and `null` values are dropped, not sent. */
function defined(attributes: SpanAttributes | undefined): Attributes {
  const kept: Attributes = {};
  for (const [name, value] of Object.entries(attributes ?? {})) if (value !== undefined && value !== null) kept[name] = value as AttributeValue;
  return kept;
}

/** The span context a stored or received `traceparent` names, or null when it is absent or malformed. */
function spanContextOf(carrier: TraceContext): SpanContext | null {
  const context = propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter);
  return trace.getSpanContext(context) ?? null;
}

class SluiceSpan implements Span {
  constructor(readonly otel: OtelSpan) {}

  get traceId(): string {
    return this.otel.spanContext().traceId;
  }

  get spanId(): string {
    return this.otel.spanContext().spanId;
  }

  context(): TraceContext {
    const carrier: Record<string, string> = {};
    propagator.inject(trace.setSpan(ROOT_CONTEXT, this.otel), carrier, defaultTextMapSetter);
    return carrier.tracestate === undefined ? { traceparent: carrier.traceparent ?? '' } : { traceparent: carrier.traceparent ?? '', tracestate: carrier.tracestate };
  }

  headers(): Record<string, string> {
    return { ...this.context() };
  }

  setAttributes(attributes: SpanAttributes): void {
    this.otel.setAttributes(defined(attributes));
  }

  updateName(name: string): void {
    this.otel.updateName(name);
  }

  fail(errorType: string, description?: string): void {
    this.otel.setAttribute(ATTR_ERROR_TYPE, errorType);
    this.otel.setStatus({ code: SpanStatusCode.ERROR, message: description ?? errorType });
  }

  end(endTime?: number): void {
    this.otel.end(endTime);
  }
}

/** The context a new span continues: its parent span's, a stored one, or the root (a new trace). */
function parentContext(parent: StartSpanOptions['parent']): Context {
  if (parent === undefined || parent === null) return ROOT_CONTEXT;
  if (parent instanceof SluiceSpan) return trace.setSpan(ROOT_CONTEXT, parent.otel);
  const spanContext = spanContextOf(parent as TraceContext);
  return spanContext === null ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, spanContext);
}

function linksOf(contexts: readonly TraceContext[] | undefined): Link[] {
  const links: Link[] = [];
  for (const carrier of contexts ?? []) {
    const context = spanContextOf(carrier);
    if (context !== null) links.push({ context });
  }
  return links;
}

/** Where spans go: `otlp_traces_endpoint` as is, else `otlp_endpoint` + `/v1/traces`. */
export function tracesUrl(telemetry: TelemetryConfig): string {
  if (telemetry.otlp_traces_endpoint !== undefined) return telemetry.otlp_traces_endpoint;
  return `${(telemetry.otlp_endpoint ?? '').replace(/\/+$/, '')}/v1/traces`;
}

/**
 * The OTLP exporter, its failures swallowed: a collector that is down or slow costs dropped spans,
 * never a failed job. The first failure after a success is logged at warn (a wrong endpoint or a
 * missing token must not look like tracing on), the rest of the streak not at all. The SDK's own
 * error handler says nothing (no diagnostic logger is registered).
 */
function quietExporter(inner: SpanExporter, logger: Logger): SpanExporter {
  let failing = false;
  return {
    export(spans: ReadableSpan[], done: (result: ExportResult) => void) {
      inner.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS && !failing) logger.warn({ err: result.error?.message, spans: spans.length }, 'trace export failed; spans dropped until the collector answers');
        failing = result.code !== ExportResultCode.SUCCESS;
        done(result);
      });
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush?.() ?? Promise.resolve(),
  };
}

/** Resolves when `work` does, or after `ms`, whichever comes first; never rejects. */
async function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
  await Promise.race([work.catch(() => undefined), late]).finally(() => clearTimeout(timer));
}

/** A tracer provider of its own (not registered globally), sampling parent-based at `sample_ratio`. */
export function createOtelTracing(config: Pick<GatewayConfig, 'telemetry' | 'log_content'>, options: TracingOptions): Tracing {
  const { telemetry } = config;
  const exporter = new OTLPTraceExporter({ url: tracesUrl(telemetry), headers: { ...telemetry.headers } });
  const processor = new BatchSpanProcessor(quietExporter(exporter, options.logger), process.env.OTEL_BSP_MAX_QUEUE_SIZE ? {} : { maxQueueSize: MAX_QUEUE_SIZE });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: telemetry.service_name ?? (options.role === 'sluice' ? 'sluice' : `sluice-${options.role}`), 'sluice.role': options.role }),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(telemetry.sample_ratio) }),
    spanProcessors: [processor],
  });
  const tracer = provider.getTracer('sluice');
  const target = new URL(tracesUrl(telemetry));
  // Logged without credentials or query: either may carry a token.
  options.logger.info({ traces_url: `${target.protocol}//${target.host}${target.pathname}`, sample_ratio: telemetry.sample_ratio }, 'tracing on: spans are exported over OTLP/HTTP');
  return {
    logContent: config.log_content,
    startSpan(name, start) {
      const span = tracer.startSpan(
        name,
        { kind: KINDS[start.kind], attributes: defined(start.attributes), links: linksOf(start.links), ...(start.startTime === undefined ? {} : { startTime: start.startTime }) },
        parentContext(start.parent),
      );
      return new SluiceSpan(span);
    },
    // A failed export was logged by the exporter; flushing never fails the caller.
    forceFlush: () => provider.forceFlush().catch(() => undefined),
    shutdown: () => bounded(provider.shutdown(), SHUTDOWN_LIMIT_MS),
  };
}
