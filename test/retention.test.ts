import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { metricsRegistry } from '@sluice/shared';
import { deadlineIndexKey, jobRecordKey } from '@sluice/engine';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('a job record lives until its deadline plus the retention', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  let redis: Redis;
  afterEach(async () => {
    redis?.disconnect();
    await gateway?.close();
    await fake?.close();
  });

  const start = async (jobs: Record<string, unknown>) => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 2, timeout_ms: 10_000, retry: { attempts: 1, backoff_ms: 10, max_backoff_ms: 10 } } },
        routes: { default: ['p/m'] },
        breaker: { min_requests: 1000 },
        jobs: { sweep_interval_ms: 100, ...jobs },
      }),
    );
    redis = new Redis(gateway.config.redis.url);
  };

  it('a deadline past the retention keeps the record: the job finishes and is read back, not a 404', async () => {
    await start({ retention_s: 1 });
    fake.script({ delayMs: 2_500 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('slow'), deadline_s: 60 });
    expect(submitted.status).toBe(202);
    const ttl = await redis.pttl(jobRecordKey(gateway.config.redis.prefix, submitted.body.id));
    // Deadline (60 s, counted from the whole second of submit) plus the 1 s retention, less the time to read it.
    expect(ttl).toBeGreaterThan(58_000);
    const job = await api.waitForJob(submitted.body.id, undefined, 10_000);
    expect(job.status).toBe('succeeded');
    // And it stays listed for as long as it lives, not only for the retention after its creation.
    expect((await api.get('/v1/jobs')).body.data.map((entry: { id: string }) => entry.id)).toContain(submitted.body.id);
  });

  it('a replay with a fresh deadline lengthens the record’s life', async () => {
    await start({ retention_s: 2, max_attempts: 1 });
    // It fails late, 3 s into its 5 s deadline (counted from the whole second of submit, so 4 to 5 s
    // after it: each call ends a second or more before its deadline). Its dead letter lasts the 2 s
    // retention after it fails; its record's first life ends 5 + 2 s after that whole second.
    fake.script({ status: 503, delayMs: 3_000 }, { delayMs: 3_000 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('replayed'), deadline_s: 5 });
    const failed = await api.waitForJob(submitted.body.id);
    expect(failed.status).toBe('failed');
    // Replayed a second before its first deadline (4 s after that whole second, a second or more
    // before its dead letter lapses), when the first life has 3 s left: the replay's call would outlast it.
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, ((submitted.body.expires_at as number) - 1) * 1000 - Date.now())));
    const replayed = await client(gateway.url, KEYS.admin).post(`/v1/dead-letters/${failed.id}/replay`);
    expect(replayed.status).toBe(202);
    // The new life is 5 + 2 s from the replay's whole second: 6 s or more, where the first had 3 at most.
    expect(await redis.pttl(jobRecordKey(gateway.config.redis.prefix, failed.id))).toBeGreaterThan(4_000);
    const job = await api.waitForJob(failed.id, (j) => j.status === 'succeeded', 10_000);
    expect(job.attempts.map((attempt) => attempt.outcome)).toEqual(['retryable_error', 'succeeded']);
  });

  it('the expiry sweep leaves a job whose deadline moved later after it read the index (a replay in between)', async () => {
    await start({});
    fake.script({ delayMs: 3_000 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('moved'), deadline_s: 60 });
    await fake.waitForRequests(1);
    // The index still says the old deadline (past), the record the new one: what the sweep meets
    // when a replay lands between its read of the index and its read of the record.
    const indexKey = deadlineIndexKey(gateway.config.redis.prefix);
    await redis.zadd(indexKey, Math.floor(Date.now() / 1000) - 10, submitted.body.id);
    // The sweep writes the index entry again from the record, so the job is never left unindexed.
    const record = await redis.hget(jobRecordKey(gateway.config.redis.prefix, submitted.body.id), 'expires_at');
    await eventually(async () => (await redis.zscore(indexKey, submitted.body.id)) === record, 2_500, 'the index entry written again from the record');
    const job = await api.waitForJob(submitted.body.id, undefined, 10_000);
    expect(job.status).toBe('succeeded');
  });

  it('a live queue entry whose record is gone is an error in the log and a metric, never silent', async () => {
    await start({});
    fake.script({ delayMs: 1_000 }, { delayMs: 1_000 }); // both slots busy: the third job waits queued
    const api = client(gateway.url);
    const first = await api.post('/v1/jobs', { model: 'default', messages: userMessage('first') });
    const second = await api.post('/v1/jobs', { model: 'default', messages: userMessage('second') });
    const third = await api.post('/v1/jobs', { model: 'default', messages: userMessage('third') });
    await fake.waitForRequests(2);
    // Lost data, as an operator's mistake or a Redis without persistence would cause.
    await redis.del(jobRecordKey(gateway.config.redis.prefix, third.body.id));
    await api.waitForJob(first.body.id);
    await api.waitForJob(second.body.id);
    const line = await eventually(() => gateway.logs.find((entry) => entry.includes(third.body.id) && entry.includes('record is missing')), 5_000, 'the error line');
    expect(JSON.parse(line)).toMatchObject({ level: 'error', job_id: third.body.id, provider: 'p' });
    expect(await metricsRegistry.metrics()).toMatch(/sluice_orphaned_queue_entries_total\{provider="p"\} [1-9]/);
  });
});
