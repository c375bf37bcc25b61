import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { embeddingList } from '@sluice/shared';
import { decodeJobEvent } from '../jobs/job-codec.ts';
import type { JobRecord } from '../jobs/job-types.ts';
import { jobEventsChannel, jobRecordKey } from '../keys.ts';
import { createSucceeder } from './succeed.ts';
import { createResponseCache } from '../cache/response-cache.ts';
import { cacheKeys } from '../keys.ts';

const record = (id: string): JobRecord => ({
  id, tenant: 'acme', status: 'running', model: 'default', priority: 'high', tier: 'standard', created_at: 1_700_000_000, started_at: null, completed_at: null,
  expires_at: 1_700_000_600, request: { endpoint: '/v1/embeddings', messages: [], input: ['a'], params: { encoding_format: 'float' } },
  routing: { route: 'default', strategy: 'ordered', tier: 'standard', candidates: [], failovers: [] }, target: 0, queue_job_id: `${id}.0`, tries: 0, exhausted: [], refused: [],
  replayed_calls: 0, reserved_usd: 0, running_since: null, provider: null, provider_model: null, result: null, error: null, usage: null, cost_usd: null, cost_details: null,
  execution: null, attempts: [], webhook: null, webhook_status: null, deliveries: [], batch_id: null, custom_id: null, metadata: {}, cache: null, cache_entry: null, stream: null, response: null, trace: null,
});

describe('the success script\'s announcement', () => {
  let redis: Redis;
  let subscriber: Redis;
  const prefix = `t${Date.now().toString(36)}succeed`;
  beforeAll(async () => {
    redis = new Redis(inject('redisUrl'));
    // Connected before its first SUBSCRIBE: ioredis 5 refuses its own ready check on a connection
    // that subscribed while connecting (an unhandled rejection).
    subscriber = new Redis(inject('redisUrl'), { lazyConnect: true });
    await subscriber.connect();
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    subscriber.disconnect();
  });

  /** Succeeds a running job with `vectors` as its answer and returns the message its waiter got. */
  const announced = async (id: string, vectors: number[][]): Promise<string> => {
    const job = record(id);
    await redis.hset(jobRecordKey(prefix, id), 'status', 'running', 'queue_job_id', job.queue_job_id);
    await subscriber.subscribe(jobEventsChannel(prefix, id));
    const message = once(subscriber, 'message');
    const result = embeddingList(vectors, 'm', { prompt_tokens: 1, total_tokens: 1 }, 'float');
    const outcome = await createSucceeder(redis, prefix, 3600).succeed({
      record: job, guard: job.queue_job_id, attempt: { provider: 'p', model: 'm', started_at: 1, latency_ms: 1, outcome: 'succeeded', status_code: 200, error: null },
      fields: { result, completed_at: 2 }, provider: 'p', model: 'm', usage: { prompt_tokens: 1, completion_tokens: 0, total_tokens: 1 }, costUsd: 0, completedAt: 2, listed: true,
    });
    expect(outcome).toEqual({ ok: true, previous: 'running' });
    const [, text] = (await message) as [string, string];
    await subscriber.unsubscribe(jobEventsChannel(prefix, id));
    return text;
  };

  it('carries the record to its waiter when the result is small', async () => {
    const event = decodeJobEvent(await announced('job_small', [[0.5, -0.5]]));
    expect(event.status).toBe('succeeded');
    expect(event.snapshot?.()?.result).toMatchObject({ object: 'list', data: [{ embedding: [0.5, -0.5] }] });
  });

  it('sends the status alone when the result passes 1 MiB: the waiter reads the record back', async () => {
    const large = Array.from({ length: 64 }, () => Array.from({ length: 2048 }, (_, index) => -0.123456789 + index / 4096));
    expect(await announced('job_large', large)).toBe('succeeded');
    expect(await redis.hstrlen(jobRecordKey(prefix, 'job_large'), 'result')).toBeGreaterThan(1024 * 1024);
  });
  it('stores the answer in the response cache with the success, already there when the end is announced, and not when the guard refuses', async () => {
    const cache = createResponseCache(redis, { prefix, maxPerTenant: 10, maxEntryBytes: 1_000_000 });
    const result = embeddingList([[1, 2]], 'm', { prompt_tokens: 1, total_tokens: 1 }, 'float');
    const response = { result, usage: null, provider: 'p', provider_model: 'm', cost_usd: 0.5, stored_at: 1 };
    const succeed = (job: JobRecord, guard: string, digest: string) => createSucceeder(redis, prefix, 3600).succeed({
      record: job, guard, attempt: { provider: 'p', model: 'm', started_at: 1, latency_ms: 1, outcome: 'succeeded', status_code: 200, error: null },
      fields: { result, completed_at: 2 }, provider: 'p', model: 'm', usage: null, costUsd: 0.5, completedAt: 2, listed: true,
      cache: cache.prepare('acme', digest, response, 60),
    });
    const won = record('job_cached');
    await redis.hset(jobRecordKey(prefix, won.id), 'status', 'running', 'queue_job_id', won.queue_job_id);
    await subscriber.subscribe(jobEventsChannel(prefix, won.id));
    const seenAtAnnouncement = new Promise<number>((resolve) => subscriber.once('message', () => void redis.exists(cacheKeys(prefix, 'acme').entry('digest-won')).then(resolve)));
    expect(await succeed(won, won.queue_job_id, 'digest-won')).toEqual({ ok: true, previous: 'running' });
    expect(await seenAtAnnouncement).toBe(1);
    await subscriber.unsubscribe(jobEventsChannel(prefix, won.id));
    expect(await cache.lookup('acme', 'digest-won')).toMatchObject({ provider: 'p', cost_usd: 0.5 });

    // Canceled meanwhile: the guard refuses the success, and nothing is cached.
    const lost = record('job_canceled');
    await redis.hset(jobRecordKey(prefix, lost.id), 'status', 'canceled', 'queue_job_id', lost.queue_job_id);
    expect(await succeed(lost, lost.queue_job_id, 'digest-lost')).toMatchObject({ ok: false });
    expect(await cache.lookup('acme', 'digest-lost')).toBeNull();
  });
});
