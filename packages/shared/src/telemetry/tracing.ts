import type { GatewayConfig } from '../config/schema.ts';
import { tracingEnabled } from '../config/schema.ts';
import type { Logger } from '../logging/logger.ts';

/**
 * A span's W3C trace context as it travels: the `traceparent` header's value (and `tracestate`'s,
 * when there is one). A job record keeps the one of the request that submitted it.
 */
export interface TraceContext {
  traceparent: string;
  tracestate?: string;
}

/** What an attribute may hold; `undefined` and `null` values are left out. */
export type SpanAttributeValue = string | number | boolean | readonly string[] | readonly number[];
export type SpanAttributes = Readonly<Record<string, SpanAttributeValue | undefined | null>>;

/** The OpenTelemetry span kinds, by name. */
export type SpanKindName = 'server' | 'client' | 'internal' | 'producer' | 'consumer';

export interface StartSpanOptions {
  kind: SpanKindName;
  /** What the span continues: a stored context, a span of this process, or nothing (a new trace). */
  parent?: TraceContext | Span | null;
  /** Unix ms. Default now. */
  startTime?: number;
  attributes?: SpanAttributes;
  /** Spans this one relates to without being their child (a provider batch's members). */
  links?: readonly TraceContext[];
}

/**
 * One span, as Sluice's code sees it: no OpenTelemetry type leaks out of `packages/shared`, so a
 * process with tracing off loads none of its packages. Ends once; calls after `end` do nothing.
 */
export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  /** This span's context to store or to send on a request (`traceparent`, `tracestate`). */
  context(): TraceContext;
  /** Request headers that continue this span's trace at the other end. */
  headers(): Record<string, string>;
  setAttributes(attributes: SpanAttributes): void;
  updateName(name: string): void;
  /** Error status, with `error.type` (a code, never text that may quote a prompt). */
  fail(errorType: string, description?: string): void;
  /** Unix ms. Default now. */
  end(endTime?: number): void;
}

/** A process's tracer: null everywhere when tracing is off, so the off path is one null check. */
export interface Tracing {
  /** `log_content: true`: prompts and completions may go on spans, as in logs. */
  readonly logContent: boolean;
  startSpan(name: string, options: StartSpanOptions): Span;
  /** Sends the spans ended so far. */
  forceFlush(): Promise<void>;
  /** Sends what is left and stops; bounded, so an unreachable collector never holds a shutdown. */
  shutdown(): Promise<void>;
}

export interface TracingOptions {
  /** The process: `api`, `worker`, or `sluice` (both in one); names the service unless `service_name` does. */
  role: string;
  /** Export failures are logged here at debug level. */
  logger: Logger;
}

/**
 * Starts tracing when `telemetry` configures it, else answers null without loading any
 * OpenTelemetry package. Spans are batched and exported over OTLP/HTTP; nothing is registered
 * globally, so two tracers in one process (tests) stay apart.
 */
export async function startTracing(config: Pick<GatewayConfig, 'telemetry' | 'log_content'>, options: TracingOptions): Promise<Tracing | null> {
  if (!tracingEnabled(config.telemetry)) return null;
  const { createOtelTracing } = await import('./otel-tracing.ts');
  return createOtelTracing(config, options);
}

/** The trace id of a `traceparent` (`00-<trace id>-<span id>-<flags>`). */
export const traceIdOf = (traceparent: string): string => traceparent.slice(3, 35);

/** The log fields that tie a line to a span: `trace_id` and `span_id`. */
export const spanLogFields = (span: Span): { trace_id: string; span_id: string } => ({ trace_id: span.traceId, span_id: span.spanId });
