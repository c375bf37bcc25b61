import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver } from '../../../../test/harness/otlp-receiver.ts';
import { createLogger } from '../logging/logger.ts';
import { startTracing, traceIdOf, type Tracing } from './tracing.ts';

const CLIENT_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

const off = { disabled: false, headers: {}, sample_ratio: 1 };

describe('tracing', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  const logs: string[] = [];
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    const logger = createLogger({ level: 'debug', destination: { write: (line: string) => void logs.push(line) } });
    const started = await startTracing({ telemetry: { ...off, otlp_endpoint: receiver.url, headers: { authorization: 'Bearer collector-token' } }, log_content: false }, { role: 'worker', logger });
    if (started === null) throw new Error('tracing did not start');
    tracing = started;
  });
  afterAll(async () => {
    await tracing.shutdown();
    await receiver.close();
  });

  it('is off (null) without an endpoint, or when disabled', async () => {
    const logger = createLogger({ destination: { write: () => undefined } });
    expect(await startTracing({ telemetry: off, log_content: false }, { role: 'api', logger })).toBeNull();
    expect(await startTracing({ telemetry: { ...off, otlp_endpoint: receiver.url, disabled: true }, log_content: false }, { role: 'api', logger })).toBeNull();
  });

  it('continues a stored traceparent, parents spans, links, and exports them over OTLP/HTTP', async () => {
    const parent = tracing.startSpan('POST /v1/jobs', { kind: 'server', parent: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-01`, tracestate: 'vendor=1' }, attributes: { 'sluice.job_id': 'job_1', dropped: undefined } });
    const stored = parent.context();
    expect(traceIdOf(stored.traceparent)).toBe(CLIENT_TRACE);
    expect(stored).toEqual({ traceparent: `00-${CLIENT_TRACE}-${parent.spanId}-01`, tracestate: 'vendor=1' });
    parent.end();
    const child = tracing.startSpan('chat m', { kind: 'client', parent: stored, startTime: Date.now() - 50 });
    child.fail('provider_retryable', 'status 500');
    child.end();
    const linked = tracing.startSpan('provider_batch submit', { kind: 'client', links: [stored, { traceparent: 'garbage' }] });
    linked.end();
    await tracing.forceFlush();
    const spans = await receiver.waitFor((span) => [parent.spanId, child.spanId, linked.spanId].includes(span.spanId), 3);
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    expect(byId.get(parent.spanId)).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: CLIENT_SPAN, kind: 2, service: 'sluice-worker', attrs: { 'sluice.job_id': 'job_1' } });
    expect(byId.get(parent.spanId)?.attrs).not.toHaveProperty('dropped');
    expect(byId.get(child.spanId)).toMatchObject({ traceId: CLIENT_TRACE, parentSpanId: parent.spanId, kind: 3, status: { code: 2, message: 'status 500' }, attrs: { 'error.type': 'provider_retryable' } });
    expect(byId.get(linked.spanId)?.traceId).not.toBe(CLIENT_TRACE);
    expect(byId.get(linked.spanId)?.links).toEqual([expect.objectContaining({ traceId: CLIENT_TRACE, spanId: parent.spanId })]);
    expect(receiver.headers.at(-1)?.authorization).toBe('Bearer collector-token');
  });

  it('keeps a client\'s unsampled flag: nothing is recorded, the context still travels', async () => {
    const span = tracing.startSpan('POST /v1/jobs', { kind: 'server', parent: { traceparent: `00-${CLIENT_TRACE}-${CLIENT_SPAN}-00` } });
    expect(span.context().traceparent).toBe(`00-${CLIENT_TRACE}-${span.spanId}-00`);
    span.end();
    await tracing.forceFlush();
    expect(receiver.spans.some((received) => received.spanId === span.spanId)).toBe(false);
  });

  it('swallows a collector that refuses exports, logging it at warn once', async () => {
    receiver.answer(500);
    try {
      tracing.startSpan('lost', { kind: 'internal' }).end();
      await expect(tracing.forceFlush()).resolves.toBeUndefined();
    } finally {
      receiver.answer(200);
    }
    const failures = logs.filter((line) => line.includes('trace export failed'));
    expect(failures).toHaveLength(1);
    expect(JSON.parse(failures[0] ?? '{}')).toMatchObject({ level: 'warn' });
    expect(logs.join('\n')).not.toContain('collector-token');
  });
});
