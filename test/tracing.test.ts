import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import { startFakeOpenAI, startFakeProvider } from '@sluice/providers/testing';
import { jobRecordKey } from '@sluice/engine';
import type { GatewayConfigInput } from '@sluice/shared';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './harness/otlp-receiver.ts';
import { startWebhookReceiver } from './harness/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
/** OTLP span kinds, as the receiver decodes them. */
const SERVER = 2;
const CLIENT = 3;
const ERROR = 2;

/** A client's W3C context: a fresh trace id per test, so traces never mix. */
function clientTrace(sampled = true): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString('hex');
  const spanId = randomBytes(8).toString('hex');
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-${sampled ? '01' : '00'}` };
}

/** Flushes both halves' spans until `count` spans that `match` have reached the receiver. */
async function exported(gateway: Gateway, receiver: OtlpReceiver, match: (span: ReceivedSpan) => boolean, count: number): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    await Promise.all([gateway.api?.tracing?.forceFlush(), gateway.worker?.tracing?.forceFlush()]);
    const spans = receiver.spans.filter(match);
    if (spans.length >= count) return spans;
    if (Date.now() > deadline) throw new Error(`${spans.length} of ${count} spans (${spans.map((span) => span.name).join(', ')})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const traceOf = (gateway: Gateway, receiver: OtlpReceiver, traceId: string, count: number): Promise<ReceivedSpan[]> =>
  exported(gateway, receiver, (span) => span.traceId === traceId, count);

const one = (spans: readonly ReceivedSpan[], name: string): ReceivedSpan => {
  const found = spans.filter((span) => span.name === name);
  expect(found.map((span) => span.name), `one span named ${name}`).toEqual([name]);
  return found[0]!;
};

const traceparentOf = (headers: Record<string, string | string[] | undefined>): string => String(headers.traceparent ?? '');

/**
 * Starts a suite's servers, then a gateway on them, before its tests; closes the gateway, then the
 * servers, after them. The config is built from the servers (their URLs).
 */
function suiteGateway<Servers extends Record<string, { close(): Promise<void> }>>(
  start: () => Promise<Servers>,
  config: (servers: Servers) => Partial<GatewayConfigInput> & Record<string, unknown>,
): Servers & { gateway: Gateway } {
  const suite = {} as Servers & { gateway: Gateway };
  beforeAll(async () => {
    const servers = await start();
    Object.assign(suite, servers, { gateway: await startGateway(makeConfig(config(servers) as never)) });
  });
  afterAll(async () => {
    const { gateway, ...servers } = suite;
    await (gateway as Gateway | undefined)?.close();
    await Promise.all(Object.values(servers).map((server) => (server as { close(): Promise<void> }).close()));
  });
  return suite;
}

describe('tracing: one trace per job, from the client\'s traceparent to the webhook', () => {
  const suite = suiteGateway(
    async () => ({ receiver: await startOtlpReceiver(), failing: await startFakeOpenAI(), healthy: await startFakeOpenAI(), hooks: await startWebhookReceiver() }),
    ({ receiver, failing, healthy }) => ({
      providers: {
        first: { type: 'openai-compatible', base_url: failing.url, retry: { attempts: 1, backoff_ms: 10 } },
        second: { type: 'openai-compatible', base_url: healthy.url },
      },
      routes: { default: ['first/model-a', 'second/model-b'] },
      pricing: { 'second/model-b': { input: 1, output: 2 } },
      breaker: { min_requests: 1000 },
      webhooks: { secret: SECRET, allow_private_networks: true, retry_schedule_s: [0.1] },
      telemetry: { otlp_endpoint: receiver.url, headers: { authorization: 'Bearer collector-secret' } },
    }),
  );

  it('request → queue wait → failed attempt → queue wait → attempt → webhook, one trace, parented, GenAI attributes, no prompt text', async () => {
    const { gateway, receiver, failing, healthy, hooks } = suite;
    const prompt = `the secret prompt ${randomBytes(6).toString('hex')}`;
    const trace = clientTrace();
    failing.script({ status: 500, body: { error: { message: `upstream broke on: ${prompt}` } } });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage(prompt), max_tokens: 50, temperature: 0, webhook: { url: hooks.url } }, { traceparent: trace.traceparent });
    expect(submitted.status).toBe(202);
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('succeeded');
    const [delivery] = await hooks.waitFor(1);

    // The shape, documented in the README: every span of the job is a child of the API's request span,
    // which is the child of the client's span; a retry or failover adds a queue wait and an attempt.
    const spans = await traceOf(gateway, receiver, trace.traceId, 6);
    expect(spans.map((span) => span.name).sort()).toEqual(['POST /v1/jobs', 'chat model-a', 'chat model-b', 'queue wait', 'queue wait', 'webhook job.succeeded']);
    const request = one(spans, 'POST /v1/jobs');
    expect(request).toMatchObject({ kind: SERVER, parentSpanId: trace.spanId, service: 'sluice-api' });
    expect(request.attrs).toMatchObject({ 'http.request.method': 'POST', 'http.route': '/v1/jobs', 'http.response.status_code': 202, 'sluice.job_id': job.id, 'sluice.tenant': 'acme' });
    for (const span of spans.filter((span) => span !== request)) {
      expect(span.parentSpanId, span.name).toBe(request.spanId);
      expect(span.service, span.name).toBe('sluice-worker');
      expect(span.attrs['sluice.job_id'], span.name).toBe(job.id);
    }
    const waits = spans.filter((span) => span.name === 'queue wait').map((span) => span.attrs['sluice.queue_entry']).sort();
    expect(waits).toEqual([`${job.id}.0`, `${job.id}.1`]);

    const failed = one(spans, 'chat model-a');
    expect(failed).toMatchObject({ kind: CLIENT, status: { code: ERROR } });
    expect(failed.attrs).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'first', 'gen_ai.system': 'first', 'gen_ai.request.model': 'model-a', 'gen_ai.request.max_tokens': 50,
      'error.type': 'provider_retryable', 'http.response.status_code': 500, 'sluice.outcome': 'retryable_error', 'sluice.attempt': 1,
      'sluice.next': 'failover', 'sluice.failover_reason': 'retries_exhausted', 'sluice.execution_mode': 'realtime', 'sluice.provider': 'first',
    });
    // A call's span is the call: it ends before the failover's new entry (its next queue wait) starts.
    const secondWait = spans.find((span) => span.name === 'queue wait' && span.attrs['sluice.queue_entry'] === `${job.id}.1`)!;
    expect(BigInt(failed.endTimeUnixNano) <= BigInt(secondWait.startTimeUnixNano)).toBe(true);
    const answered = one(spans, 'chat model-b');
    expect(answered.kind).toBe(CLIENT);
    expect(answered.status?.code ?? 0).not.toBe(ERROR);
    expect(answered.attrs).toMatchObject({
      'gen_ai.operation.name': 'chat', 'gen_ai.provider.name': 'second', 'gen_ai.request.model': 'model-b', 'gen_ai.response.model': 'model-b',
      'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 12, 'gen_ai.response.finish_reasons': ['stop'],
      'sluice.attempt': 2, 'sluice.next': 'succeeded', 'sluice.outcome': 'succeeded', 'sluice.cost_usd': job.cost_usd, 'sluice.tenant': 'acme',
      'server.address': '127.0.0.1',
    });
    expect(job.cost_usd).toBeGreaterThan(0);

    const webhook = one(spans, 'webhook job.succeeded');
    expect(webhook).toMatchObject({ kind: CLIENT });
    expect(webhook.attrs).toMatchObject({ 'http.response.status_code': 200, 'sluice.webhook.outcome': 'delivered', 'sluice.webhook.attempt': 1 });
    // The context each request carried names the span that made it; the signature is untouched by it.
    expect(traceparentOf(delivery!.headers)).toBe(`00-${trace.traceId}-${webhook.spanId}-01`);
    expect(() => new Webhook(SECRET).verify(delivery!.body, delivery!.headers as Record<string, string>)).not.toThrow();
    expect(traceparentOf(failing.requests.at(-1)!.headers)).toBe(`00-${trace.traceId}-${failed.spanId}-01`);
    expect(traceparentOf(healthy.requests.at(-1)!.headers)).toBe(`00-${trace.traceId}-${answered.spanId}-01`);

    // Neither the prompt (nor the answer that echoes it, nor the provider error that quotes it) nor a secret is exported.
    const exported = receiver.bodies.join('\n');
    expect(exported).not.toContain(prompt);
    for (const secret of [KEYS.acme, SECRET, 'collector-secret']) expect(exported).not.toContain(secret);
    expect(receiver.headers.every((headers) => headers.authorization === 'Bearer collector-secret')).toBe(true);

    // Log lines of the job carry its trace; the worker's call lines the call's span too.
    const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.job_id === job.id);
    expect(lines.find((line) => line.msg === 'job accepted')).toMatchObject({ trace_id: trace.traceId });
    expect(lines.find((line) => line.msg === 'job finished')).toMatchObject({ trace_id: trace.traceId, span_id: answered.spanId });
    expect(lines.find((line) => line.msg === 'job failed over to its next target')).toMatchObject({ trace_id: trace.traceId });
    // Logged once the delivery is recorded, which may be just after its span ended.
    const delivered = await eventually(() => gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.job_id === job.id && line.msg === 'webhook delivered'));
    expect(delivered).toMatchObject({ trace_id: trace.traceId });
  });

  it('a canceled job\'s log line carries its trace too', async () => {
    const { gateway, healthy } = suite;
    const trace = clientTrace();
    healthy.script({ delayMs: 5_000 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'second/model-b', messages: userMessage('to cancel') }, { traceparent: trace.traceparent });
    await healthy.waitForRequests(healthy.requests.length + 1);
    expect((await api.post(`/v1/jobs/${submitted.body.id}/cancel`, {})).status).toBe(200);
    const line = gateway.logs.map((entry) => JSON.parse(entry) as Record<string, unknown>).find((entry) => entry.job_id === submitted.body.id && entry.msg === 'job canceled');
    expect(line).toMatchObject({ trace_id: trace.traceId, tenant: 'acme' });
  });

  it('a client\'s unsampled traceparent is followed: nothing exported, the context still goes to the provider', async () => {
    const { gateway, receiver, healthy } = suite;
    const trace = clientTrace(false);
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'second/model-b', messages: userMessage('unsampled') }, { traceparent: trace.traceparent });
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(traceparentOf(healthy.requests.at(-1)!.headers)).toMatch(new RegExp(`^00-${trace.traceId}-[0-9a-f]{16}-00$`));
    await Promise.all([gateway.api?.tracing?.forceFlush(), gateway.worker?.tracing?.forceFlush()]);
    expect(receiver.spans.filter((span) => span.traceId === trace.traceId)).toEqual([]);
  });
});

describe('tracing: synchronous, streamed and embeddings calls; content only with log_content', () => {
  const suite = suiteGateway(
    async () => ({ receiver: await startOtlpReceiver(), fake: await startFakeOpenAI() }),
    ({ receiver, fake }) => ({
      providers: { p: { type: 'openai-compatible', base_url: fake.url } },
      routes: { default: ['p/m'], embed: ['p/e'] },
      log_content: true,
      telemetry: { otlp_endpoint: receiver.url, service_name: 'gateway-under-test' },
    }),
  );

  it('a synchronous call: its request span holds the queue wait and the call; with log_content the messages are on the call', async () => {
    const { gateway, receiver } = suite;
    const prompt = `visible prompt ${randomBytes(4).toString('hex')}`;
    const trace = clientTrace();
    const reply = await client(gateway.url).post('/v1/chat/completions', { model: 'default', messages: userMessage(prompt) }, { traceparent: trace.traceparent });
    expect(reply.status).toBe(200);
    const spans = await traceOf(gateway, receiver, trace.traceId, 3);
    const request = one(spans, 'POST /v1/chat/completions');
    const call = one(spans, 'chat m');
    expect(one(spans, 'queue wait').parentSpanId).toBe(request.spanId);
    expect(call.parentSpanId).toBe(request.spanId);
    expect(spans.every((span) => span.service === 'gateway-under-test')).toBe(true);
    expect(JSON.parse(String(call.attrs['gen_ai.input.messages']))).toEqual([{ role: 'user', parts: [{ type: 'text', content: prompt }] }]);
    expect(JSON.parse(String(call.attrs['gen_ai.output.messages']))).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: `fake: ${prompt}` }], finish_reason: 'stop' }]);
    expect(reply.headers.get('x-sluice-job-id')).toBe(request.attrs['sluice.job_id']);
  });

  it('a streamed call and an embeddings call, each a new trace when the client sends no traceparent', async () => {
    const { gateway, receiver } = suite;
    const api = client(gateway.url);
    const streamed = await api.post('/v1/chat/completions', { model: 'default', stream: true, messages: userMessage('stream me') });
    expect(streamed.status).toBe(200);
    const embedded = await api.post('/v1/embeddings', { model: 'embed', input: ['a', 'b'] });
    expect(embedded.status).toBe(200);
    const streamRequest = await exported(gateway, receiver, (span) => span.name === 'POST /v1/chat/completions' && span.attrs['sluice.job_id'] === streamed.headers.get('x-sluice-job-id'), 1);
    const streamTrace = await traceOf(gateway, receiver, streamRequest[0]!.traceId, 3);
    expect(streamRequest[0]!.parentSpanId ?? '').toBe('');
    expect(one(streamTrace, 'chat m').attrs).toMatchObject({ 'gen_ai.request.stream': true, 'gen_ai.usage.output_tokens': expect.any(Number) });
    expect(one(streamTrace, 'chat m').attrs['gen_ai.response.time_to_first_chunk']).toEqual(expect.any(Number));
    const embedRequest = await exported(gateway, receiver, (span) => span.name === 'POST /v1/embeddings', 1);
    const embedTrace = await traceOf(gateway, receiver, embedRequest[0]!.traceId, 3);
    expect(one(embedTrace, 'embeddings e').attrs).toMatchObject({ 'gen_ai.operation.name': 'embeddings', 'gen_ai.request.model': 'e', 'gen_ai.usage.input_tokens': expect.any(Number) });
  });
});

describe('tracing: a client batch', () => {
  const suite = suiteGateway(
    async () => ({ receiver: await startOtlpReceiver(), fake: await startFakeOpenAI() }),
    ({ receiver, fake }) => ({ providers: { p: { type: 'openai-compatible', base_url: fake.url } }, routes: { default: ['p/m'] }, telemetry: { otlp_endpoint: receiver.url } }),
  );

  it('its children\'s spans join the trace of the request that created it', async () => {
    const { gateway, receiver } = suite;
    const trace = clientTrace();
    const api = client(gateway.url);
    const requests = ['one', 'two'].map((text) => ({ custom_id: text, body: { model: 'default', messages: userMessage(text) } }));
    const created = await api.post('/v1/batches', { requests }, { traceparent: trace.traceparent });
    expect(created.status).toBe(200);
    await eventually(async () => (await api.get(`/v1/batches/${created.body.id}`)).body.status === 'completed', 15_000, 'batch completed');
    const spans = await traceOf(gateway, receiver, trace.traceId, 5);
    const request = one(spans, 'POST /v1/batches');
    expect(spans.filter((span) => span.name === 'chat m')).toHaveLength(2);
    expect(spans.filter((span) => span !== request).every((span) => span.parentSpanId === request.spanId)).toBe(true);
  });
});

describe('tracing off (the default)', () => {
  const suite = suiteGateway(
    async () => ({ fake: await startFakeOpenAI(), hooks: await startWebhookReceiver() }),
    ({ fake }) => ({ providers: { p: { type: 'openai-compatible', base_url: fake.url } }, routes: { default: ['p/m'] }, webhooks: { secret: SECRET, allow_private_networks: true } }),
  );

  it('starts no tracer, stores no trace context, and sends no traceparent to providers or webhooks', async () => {
    const { gateway, fake, hooks } = suite;
    expect(gateway.api?.tracing).toBeNull();
    expect(gateway.worker?.tracing).toBeNull();
    expect(gateway.api?.deps.requestSpans).toBeNull();
    const trace = clientTrace();
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('untraced'), webhook: { url: hooks.url } }, { traceparent: trace.traceparent });
    expect((await api.waitForJob(submitted.body.id)).status).toBe('succeeded');
    const [delivery] = await hooks.waitFor(1);
    expect(delivery!.headers.traceparent).toBeUndefined();
    expect(fake.requests.at(-1)!.headers.traceparent).toBeUndefined();
    const redis = new Redis(gateway.config.redis.url);
    try {
      const doc = JSON.parse((await redis.hget(jobRecordKey(gateway.config.redis.prefix, submitted.body.id), 'doc')) ?? '{}') as Record<string, unknown>;
      expect(doc.id).toBe(submitted.body.id);
      expect(doc).not.toHaveProperty('trace');
      expect(await redis.hexists(jobRecordKey(gateway.config.redis.prefix, submitted.body.id), 'trace')).toBe(0);
    } finally {
      redis.disconnect();
    }
    const lines = gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.job_id === submitted.body.id);
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.some((line) => 'trace_id' in line || 'span_id' in line)).toBe(false);
  });
});

describe('tracing: provider batches', () => {
  const suite = suiteGateway(
    async () => ({ receiver: await startOtlpReceiver(), fake: await startFakeProvider('openai') }),
    ({ receiver, fake }) => ({
      providers: { o: { type: 'openai', base_url: fake.url, api_key: 'test-key', batch: { enabled: true, max_wait_s: 0.2, poll_interval_s: 0.2, min_lead_s: 3600, fallback_before_s: 600 } } },
      routes: { cheap: ['o/gpt-4o-mini'] },
      jobs: { sweep_interval_ms: 100 },
      telemetry: { otlp_endpoint: receiver.url },
    }),
  );

  it('submit and poll are spans of their own, linked to their members; each result line is a call in its job\'s trace', async () => {
    const { gateway, receiver, fake } = suite;
    const trace = clientTrace();
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'cheap', tier: 'economy', deadline_s: 48 * 3600, messages: userMessage('deferred') }, { traceparent: trace.traceparent });
    const job = await api.waitForJob(submitted.body.id, undefined, 20_000);
    expect(job).toMatchObject({ status: 'succeeded', execution: { mode: 'provider_batch' } });
    const batchId = job.execution.provider_batch_id;
    const spans = await traceOf(gateway, receiver, trace.traceId, 2);
    const request = one(spans, 'POST /v1/jobs');
    const call = one(spans, 'chat gpt-4o-mini');
    expect(call.parentSpanId).toBe(request.spanId);
    expect(call.attrs).toMatchObject({ 'sluice.execution_mode': 'provider_batch', 'gen_ai.provider.name': 'openai', 'gen_ai.usage.input_tokens': 9, 'gen_ai.usage.output_tokens': 12, 'sluice.cost_usd': job.cost_usd, 'sluice.next': 'succeeded' });
    const [submit] = await exported(gateway, receiver, (span) => span.name === 'provider_batch submit' && span.attrs['sluice.provider_batch.id'] === batchId, 1);
    expect(submit!.traceId).not.toBe(trace.traceId);
    expect(submit!.links).toEqual([expect.objectContaining({ traceId: trace.traceId, spanId: request.spanId })]);
    expect(submit!.attrs).toMatchObject({ 'sluice.provider_batch.size': 1, 'gen_ai.request.model': 'gpt-4o-mini' });
    const polls = await exported(gateway, receiver, (span) => span.name === 'provider_batch poll' && span.attrs['sluice.provider_batch.id'] === batchId, 1);
    expect(call.links?.map((link) => link.spanId)).toEqual([expect.toSatisfy((id: string) => polls.some((poll) => poll.spanId === id))]);
    // Every request of the batch API carried the context of the submit or a poll.
    const batchRequests = fake.requests.filter((seen) => /\/(files|batches)/.test(seen.path));
    const batchSpans = new Set([submit!.spanId, ...polls.map((poll) => poll.spanId)]);
    expect(batchRequests.length).toBeGreaterThan(2);
    for (const seen of batchRequests) expect(batchSpans.has(traceparentOf(seen.headers).slice(36, 52)), `${seen.method} ${seen.path}`).toBe(true);
  });
});
