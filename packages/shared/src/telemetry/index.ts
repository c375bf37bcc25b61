export { SLUICE_ATTRIBUTES } from './attributes.ts';
export { spanLogFields, startTracing, traceIdOf, type Span, type SpanAttributes, type SpanAttributeValue, type SpanKindName, type StartSpanOptions, type TraceContext, type Tracing, type TracingOptions } from './tracing.ts';
