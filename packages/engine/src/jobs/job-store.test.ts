import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { newJobId } from './ids.ts';
import { createJobStore, type JobStore } from './job-store.ts';
import { jobStreamKey } from '../keys.ts';
import { decodeStreamEntry } from '../streams/job-stream.ts';
import type { JobRecord } from './job-types.ts';

const record = (tenant: string): JobRecord => ({
  id: newJobId(), tenant, status: 'queued', model: 'default', priority: 'normal', tier: 'standard',
  created_at: 1, started_at: null, completed_at: null, expires_at: 2,
  request: { messages: [{ role: 'user', content: 'hi' }], params: { top_p: 1 } },
  routing: { route: 'default', strategy: 'ordered', tier: 'standard', candidates: [], failovers: [] },
  target: 0, queue_job_id: 'x.0', tries: 0, exhausted: [], refused: [], replayed_calls: 0, reserved_usd: 0, running_since: null,
  provider: null, provider_model: null, result: null, error: null, usage: null, cost_usd: null, cost_details: null, execution: null,
  attempts: [], webhook: null, webhook_status: null, deliveries: [], custom_id: null, batch_id: null, metadata: { a: 'b' }, cache: null, cache_entry: null, stream: null, response: null, trace: null,
});

describe('job store', () => {
  let redis: Redis;
  let store: JobStore;
  const prefix = `t${Date.now().toString(36)}store`;
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    store = createJobStore(redis, { prefix, retentionSeconds: 60 });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  it('clears deadlines: all the ids named, or with dueBy only those still due by it (one moved later stays)', async () => {
    const [due, moved, plain] = ['job_due', 'job_moved', 'job_plain'];
    await store.scheduleExpiry(due, 100);
    await store.scheduleExpiry(moved, 5_000);
    await store.scheduleExpiry(plain, 5_000);
    await store.clearExpiry([due, moved, 'job_absent'], 1_000);
    expect(await redis.zmscore(`${prefix}:expiry`, due, moved)).toEqual([null, '5000']);
    await store.clearExpiry([moved, plain]);
    expect(await redis.zmscore(`${prefix}:expiry`, moved, plain)).toEqual([null, null]);
  });

  it('round-trips a record with a TTL', async () => {
    const job = record('acme');
    await store.create(job);
    expect(await store.get(job.id)).toEqual(job);
    const ttl = await redis.pttl(`${prefix}:job:${job.id}`);
    expect(ttl).toBeGreaterThan(55_000);
    expect(await store.getForTenant(job.id, 'globex')).toBeNull();
  });

  it('writes every status change of a streamed job to its output stream, and keeps it for the stream retention after the end', async () => {
    const streamed = createJobStore(redis, { prefix, retentionSeconds: 60, streams: { retentionSeconds: 7 } });
    const job = { ...record('acme'), expires_at: Math.floor(Date.now() / 1000) + 30, stream: { include_usage: true } };
    await streamed.create(job);
    await streamed.transition(job, ['queued'], 'running', { provider: 'fake' });
    await streamed.transition(job, ['running'], 'queued', { provider: null });
    await streamed.transition(job, ['queued'], 'running', { provider: 'other' });
    const key = jobStreamKey(prefix, job.id);
    expect(await redis.pttl(key)).toBeGreaterThan(60_000); // the record's own life while it runs
    await streamed.transition(job, ['running'], 'failed');
    expect(await redis.pttl(key)).toBeLessThanOrEqual(7000);
    const entries = (await redis.xrange(key, '-', '+')).map(([id, fields]) => decodeStreamEntry(id, fields));
    expect(entries.map((entry) => (entry?.kind === 'status' ? [entry.status, entry.provider] : null))).toEqual([
      ['queued', null], ['running', 'fake'], ['queued', null], ['running', 'other'], ['failed', 'other'],
    ]);
    // A job that does not stream has no stream.
    const plain = record('acme');
    await streamed.create(plain);
    await streamed.transition(plain, ['queued'], 'running');
    expect(await redis.exists(jobStreamKey(prefix, plain.id))).toBe(0);
    await streamed.remove(job.id, 'acme');
    expect(await redis.exists(key)).toBe(0);
  });

  it('charges an ended job once, and only one that ended as allowed', async () => {
    const job = record('acme');
    await store.create(job);
    const usage = { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 };
    expect(await store.charge(job.id, ['canceled', 'expired'], { usage, cost_usd: 1 })).toBe(false); // still queued
    await store.transition(job, ['queued'], 'canceled');
    const [first, second] = await Promise.all([store.charge(job.id, ['canceled', 'expired'], { usage, cost_usd: 1 }), store.charge(job.id, ['canceled', 'expired'], { usage, cost_usd: 2 })]);
    expect([first, second].filter(Boolean)).toHaveLength(1);
    expect(await store.get(job.id)).toMatchObject({ status: 'canceled', usage, cost_usd: first ? 1 : 2 });
    expect(await store.charge('job_nothing', ['canceled'], { usage })).toBe(false);
  });

  it('lets exactly one of two racing terminal transitions win', async () => {
    for (let round = 0; round < 20; round += 1) {
      const job = record('acme');
      await store.create(job);
      await store.transition(job, ['queued'], 'running');
      const [succeeded, canceled] = await Promise.all([
        store.transition(job, ['running'], 'succeeded', { cost_usd: 1 }),
        store.transition(job, ['queued', 'running'], 'canceled'),
      ]);
      expect([succeeded.ok, canceled.ok].filter(Boolean)).toHaveLength(1);
      const final = await store.get(job.id);
      expect(final?.status).toBe(succeeded.ok ? 'succeeded' : 'canceled');
      expect(final?.cost_usd).toBe(succeeded.ok ? 1 : null);
    }
    expect((await store.transition({ id: 'job_nothing', tenant: 'acme', expires_at: 0 }, ['queued'], 'running')).previous).toBeNull();
  });

  it('appends concurrent attempts without losing any', async () => {
    const job = record('acme');
    await store.create(job);
    await Promise.all(Array.from({ length: 10 }, (_, index) => store.appendAttempt(job.id, { provider: 'p', model: 'm', started_at: index, latency_ms: 1, outcome: 'succeeded', status_code: 200, error: null })));
    const attempts = (await store.get(job.id))?.attempts ?? [];
    expect(attempts.map((attempt) => attempt.started_at).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('never recreates an expired record: late writes to a missing record write nothing', async () => {
    const job = record('acme');
    await store.create(job);
    await redis.del(`${prefix}:job:${job.id}`); // as if its TTL had passed
    await store.update(job.id, { webhook_status: 'delivered' });
    await store.appendAttempt(job.id, { provider: 'p', model: 'm', started_at: 1, latency_ms: 1, outcome: 'succeeded', status_code: 200, error: null });
    await store.appendDelivery(job.id, { webhook_id: 'msg_1', event: 'job.succeeded', attempt: 1, at: 1, latency_ms: 1, status_code: 200, outcome: 'delivered', error: null });
    await store.transition(job, ['queued'], 'running');
    await store.keepUntil(job.id, Math.floor(Date.now() / 1000) + 60);
    expect(await redis.exists(`${prefix}:job:${job.id}`)).toBe(0);
  });

  it('keeps a record until its deadline plus the retention, and only lengthens its life', async () => {
    const now = Math.floor(Date.now() / 1000);
    const job = { ...record('acme'), expires_at: now + 3600 };
    await store.create(job);
    const key = `${prefix}:job:${job.id}`;
    expect(await redis.pttl(key)).toBeGreaterThan((3600 + 55) * 1000);
    await store.keepUntil(job.id, now + 7200);
    expect(await redis.pttl(key)).toBeGreaterThan((7200 + 55) * 1000);
    await store.keepUntil(job.id, now + 10);
    expect(await redis.pttl(key)).toBeGreaterThan((7200 + 55) * 1000);
  });
});
