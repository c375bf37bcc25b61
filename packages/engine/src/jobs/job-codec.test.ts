import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { JOB_ID_PATTERN, newJobId, newResponseId, RESPONSE_ID_PATTERN } from './ids.ts';
import { decodeJobEvent, newRecordFields, parseRecord, serializeJobFields } from './job-codec.ts';
import { createJobStore, type JobStore } from './job-store.ts';
import { JobRecordSchema, toJobObject, type JobRecord } from './job-types.ts';

const record = (): JobRecord => ({
  id: newJobId(), tenant: 'acme', status: 'queued', model: 'default', priority: 'high', tier: 'economy',
  created_at: 1_700_000_000, started_at: null, completed_at: null, expires_at: 1_700_000_600,
  request: { messages: [{ role: 'user', content: 'hi' }], params: { temperature: 0.2 } },
  routing: { route: 'default', strategy: 'ordered', tier: 'economy', candidates: [{ provider: 'p', model: 'm', est_cost_usd: 0.001, eligible: true, reason: null }], failovers: [] },
  target: 0, queue_job_id: 'x.0', tries: 0, exhausted: [], refused: [], replayed_calls: 0, reserved_usd: 0.001, running_since: null,
  provider: null, provider_model: null, result: null, error: null, usage: null, cost_usd: null, cost_details: null, execution: null,
  attempts: [], webhook: { url: 'https://example.test/hook' }, webhook_status: 'pending', deliveries: [], custom_id: 'line-1', batch_id: 'batch_1', metadata: {}, cache: null, cache_entry: null, stream: null, response: null, trace: null,
});

/** A hash as Redis hands it back from HSET arguments. */
const hashOf = (flat: string[]): Record<string, string> => {
  const hash: Record<string, string> = {};
  for (let index = 0; index < flat.length; index += 2) hash[flat[index] ?? ''] = flat[index + 1] ?? '';
  return hash;
};

describe('job record codec', () => {
  it('writes a new record as status, one doc and only the fields not at their default', () => {
    const job = record();
    const hash = { status: 'queued', ...hashOf(serializeJobFields(newRecordFields(job))) };
    expect(Object.keys(hash).sort()).toEqual(['doc', 'expires_at', 'queue_job_id', 'reserved_usd', 'routing', 'status', 'webhook_status']);
    expect(parseRecord(hash)).toEqual(job);
  });

  it('stores the routing decision without its defaults and reads it back whole, as it reads a full one', () => {
    const job = record();
    const hash: Record<string, string> = { status: 'queued', ...hashOf(serializeJobFields(newRecordFields(job))) };
    expect(JSON.parse(hash.routing ?? '')).toEqual({ route: 'default', tier: 'economy', candidates: [{ provider: 'p', model: 'm', est_cost_usd: 0.001 }] });
    const moved = {
      ...job,
      routing: {
        route: 'default', strategy: 'cheapest' as const, tier: 'economy' as const,
        candidates: [{ provider: 'p', model: 'm', est_cost_usd: null, eligible: false, reason: 'circuit_open' as const }, { provider: 'q', model: 'n', est_cost_usd: 0.002, eligible: true, reason: null }],
        failovers: [{ from: 'p/m', to: 'q/n', reason: 'circuit_open', at: 1_700_000_001 }],
      },
    };
    expect(parseRecord({ status: 'queued', ...hashOf(serializeJobFields(newRecordFields(moved))) })).toEqual(moved);
    // A record written before the compact form (every field present) reads the same.
    expect(parseRecord({ ...hash, routing: JSON.stringify(moved.routing) }).routing).toEqual(moved.routing);
  });

  it('reads a record written before the doc field, with its fixed fields in fields of their own', () => {
    const job = { ...record(), metadata: { a: 'b' } };
    const { doc: _doc, ...changing } = newRecordFields(job);
    const fixed = { id: job.id, tenant: job.tenant, model: job.model, priority: job.priority, tier: job.tier, created_at: job.created_at, request: job.request, batch_id: job.batch_id, custom_id: job.custom_id, metadata: job.metadata, webhook: job.webhook };
    const hash = { status: 'queued', ...hashOf(serializeJobFields({ ...changing, ...fixed } as never)) };
    expect(parseRecord(hash)).toEqual(job);
  });

  it('keeps a response job\'s settings inside the doc, and reads a record without them as null', () => {
    const job = { ...record(), id: newResponseId(), response: { instructions: true, store: false, background: true, previous_response_id: null } };
    const fields = newRecordFields(job);
    expect(JSON.parse(fields.doc).response).toEqual(job.response);
    expect(parseRecord({ status: 'queued', ...hashOf(serializeJobFields(fields)) })).toEqual(job);
    expect(parseRecord({ status: 'queued' }).response).toBeNull();
    expect(job.id).toMatch(JOB_ID_PATTERN);
    expect(newJobId()).toMatch(JOB_ID_PATTERN);
    expect(newJobId()).not.toMatch(RESPONSE_ID_PATTERN);
  });

  it('keeps a traced job\'s trace context inside the doc (no field of its own), and reads a record without one as null', () => {
    const trace = { traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01', tracestate: 'vendor=1' };
    const job = { ...record(), trace };
    const fields = newRecordFields(job);
    expect(JSON.parse(fields.doc).trace).toEqual(trace);
    expect(Object.keys(fields)).not.toContain('trace');
    expect(parseRecord({ status: 'queued', ...hashOf(serializeJobFields(fields)) })).toEqual(job);
    expect(JSON.parse(newRecordFields(record()).doc)).not.toHaveProperty('trace');
    expect(parseRecord({ status: 'queued' }).trace).toBeNull();
    expect(toJobObject(job)).not.toHaveProperty('trace');
  });

  it('keeps an embeddings job\'s kind and inputs in its doc; a record without them is a chat job', () => {
    const job: JobRecord = { ...record(), request: { endpoint: '/v1/embeddings', messages: [], input: ['a', 'b'], params: { encoding_format: 'base64', dimensions: 8 } } };
    const hash = { status: 'queued', ...hashOf(serializeJobFields(newRecordFields(job))) };
    const read = parseRecord(hash);
    expect(read).toEqual(job);
    expect(JobRecordSchema.strict().parse(read).request).toEqual(job.request);
    expect(toJobObject(read).endpoint).toBe('/v1/embeddings');
    expect(toJobObject(record()).endpoint).toBe('/v1/chat/completions');
  });

  it('refuses a hash whose status is none of the states a job can be in', () => {
    expect(() => parseRecord({ status: 'paused', doc: '{"id":"job_x"}' })).toThrow(/job job_x has an unknown status "paused"/);
  });

  it('never shares the default of an absent field between records', () => {
    const first = parseRecord({ status: 'queued' });
    first.exhausted.push(3);
    expect(parseRecord({ status: 'queued' }).exhausted).toEqual([]);
  });

  it('decodes a job event with and without the record sent along', () => {
    const job = record();
    const flat = Object.entries({ status: 'succeeded', ...hashOf(serializeJobFields(newRecordFields(job))) }).flat();
    const event = decodeJobEvent(`succeeded\n${JSON.stringify(flat)}`);
    expect(event.status).toBe('succeeded');
    expect(event.snapshot?.()).toEqual({ ...job, status: 'succeeded' });
    expect(decodeJobEvent('running')).toEqual({ status: 'running', snapshot: null });
    expect(decodeJobEvent('succeeded\n{not json').snapshot?.()).toBeNull();
  });
});

describe('a record through its life in Redis', () => {
  let redis: Redis;
  let store: JobStore;
  const prefix = `t${Date.now().toString(36)}codec`;
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = createJobStore(redis, { prefix, retentionSeconds: 60 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('reads back as a JobRecordSchema record with no field of its own at every step', async () => {
    const job = record();
    const strict = JobRecordSchema.strict();
    const check = async (): Promise<JobRecord> => strict.parse(await store.get(job.id));
    await store.create(job);
    expect(await check()).toEqual(job);
    await store.transition(job, ['queued'], 'running', { started_at: 1_700_000_001, provider: 'p', provider_model: 'm', running_since: 1_700_000_001_000 }, 'x.0');
    await store.appendAttempt(job.id, { provider: 'p', model: 'm', started_at: 1_700_000_001, latency_ms: 5, outcome: 'succeeded', status_code: 200, error: null });
    const usage = { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 };
    const result = { id: 'c1', object: 'chat.completion' as const, created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant' as const, content: 'ok' }, finish_reason: 'stop' as const }], usage };
    await store.transition(job, ['running'], 'succeeded', { completed_at: 1_700_000_002, running_since: null, result, usage, cost_usd: 0.0004, cost_details: { price_source: 'config', input_usd_per_1m: 1, output_usd_per_1m: 2, reason: null } }, 'x.0');
    await store.appendDelivery(job.id, { webhook_id: 'msg_1', event: 'job.succeeded', attempt: 1, at: 1_700_000_003, latency_ms: 4, status_code: 200, outcome: 'delivered', error: null });
    await store.update(job.id, { webhook_status: 'delivered' });
    const ended = await check();
    expect(ended).toMatchObject({ status: 'succeeded', result, usage, cost_usd: 0.0004, running_since: null, webhook_status: 'delivered' });
    expect(ended.attempts).toHaveLength(1);
    expect(toJobObject(ended).webhook).toEqual({ url: 'https://example.test/hook', status: 'delivered', deliveries: ended.deliveries });
  });
});
