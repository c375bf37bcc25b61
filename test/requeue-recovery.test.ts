import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { Queue, Worker } from 'bullmq';
import { bullQueueName, PROVIDER_JOB_NAME, providerQueueName } from '@sluice/engine';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startRedisServer, type TestRedis } from './harness/redis-server.ts';

/**
 * Redis refusing the write of a requeued job's new queue entry (as at maxmemory) must leave the job
 * recoverable, not stranded until its deadline. Refusal is made exact with an ACL: the gateway's
 * user may read provider b's queue keys but not write them, until the test gives the right back.
 */
describe('a requeue whose queue write is refused', () => {
  let a: FakeOpenAIServer;
  let b: FakeOpenAIServer;
  let redisServer: TestRedis;
  let admin: Redis;
  let gateway: Gateway;
  afterEach(async () => {
    await gateway?.close();
    admin?.disconnect();
    await redisServer?.stop();
    await Promise.all([a?.close(), b?.close()]);
  });

  it('is repaired once Redis takes writes again, and the job succeeds on its next target', async () => {
    a = await startFakeOpenAI();
    b = await startFakeOpenAI();
    a.setReply(() => ({ status: 500, body: { error: { message: 'a is down' } } }));
    redisServer = await startRedisServer();
    admin = new Redis(redisServer.url);
    const prefix = 'rq';
    await admin.call('ACL', 'SETUSER', 'sluice', 'on', '>secret-pw', '~*', '&*', '+@all');
    const url = new URL(redisServer.url);
    url.username = 'sluice';
    url.password = 'secret-pw';
    gateway = await startGateway(
      makeConfig(
        {
          redis: { url: url.toString(), prefix },
          providers: {
            a: { type: 'openai-compatible', base_url: a.url, retry: { attempts: 1, backoff_ms: 10, max_backoff_ms: 10 } },
            b: { type: 'openai-compatible', base_url: b.url, retry: { attempts: 1, backoff_ms: 10, max_backoff_ms: 10 } },
          },
          routes: { default: ['a/m', 'b/m'] },
          breaker: { min_requests: 1000 },
          jobs: { sweep_interval_ms: 100 },
        },
        prefix,
      ),
    );
    // Everything stays writable but provider b's queue keys, which become read-only.
    await admin.call('ACL', 'SETUSER', 'sluice', 'resetkeys', `%RW~${prefix}:[^{]*`, `%RW~${prefix}:{[^p]*`, `%RW~${prefix}:{p[^r]*`, `%RW~${prefix}:{provider-[^b]*`, `%R~${prefix}:{provider-b}*`);
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('move me') });
    expect(submitted.status).toBe(202);
    // The failover to b moved the record, but its entry on b could not be written.
    const moved = await api.waitForJob(submitted.body.id, (job) => job.routing.failovers.length > 0, 10_000);
    expect(moved.status).toBe('queued');
    expect(await admin.zscore(`${prefix}:requeuing`, submitted.body.id)).not.toBeNull();
    expect(await admin.exists(`${prefix}:{provider-b}:${submitted.body.id}.1`)).toBe(0);

    // Writes are allowed again: housekeeping writes the entry the record names, and b runs the job.
    await admin.call('ACL', 'SETUSER', 'sluice', `%RW~${prefix}:{provider-b}*`);
    const job = await api.waitForJob(submitted.body.id, undefined, 15_000);
    expect(job).toMatchObject({ status: 'succeeded', provider: 'b' });
    expect(await admin.zscore(`${prefix}:requeuing`, submitted.body.id)).toBeNull();
    expect(gateway.logs.some((line) => line.includes('re-created queue entries that a requeue failed to write'))).toBe(true);
  }, 40_000);
});

/**
 * Finished entries stay in their queue for Bull Board (`queues.keep_*`). An entry that finished
 * without moving its job on (a worker whose writes were lost) runs nothing: when the record still
 * names it, it is as lost as a deleted one, and the next stale entry's repair must re-create it.
 */
describe('a finished entry kept for Bull Board', () => {
  let gateway: Gateway | undefined;
  let queueRedis: Redis | undefined;
  afterEach(async () => {
    await gateway?.close();
    queueRedis?.disconnect();
  });

  it.each(['completed', 'failed'] as const)('is not mistaken for the live one when it is %s: the repair re-creates it and the job runs', async (finished) => {
    gateway = await startGateway(makeConfig({ providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] } }), { worker: false });
    const prefix = gateway.config.redis.prefix;
    const api = client(gateway.url);
    const id = (await api.post('/v1/jobs', { model: 'default', messages: userMessage('lost and kept') })).body.id as string;
    const entry = `${id}.0`;
    // A worker whose effects were lost takes the entry and finishes it, leaving the record queued.
    queueRedis = new Redis(gateway.config.redis.url, { maxRetriesPerRequest: null });
    const queueName = bullQueueName(providerQueueName('mock'));
    const lost = new Worker(queueName, async () => {
      if (finished === 'failed') throw new Error('lost');
    }, { connection: queueRedis, prefix });
    const queue = new Queue(queueName, { connection: queueRedis, prefix });
    try {
      await eventually(async () => (await queue.getJobState(entry)) === finished, 10_000, `entry ${finished}`);
      await lost.close();
      expect((await api.get(`/v1/jobs/${id}`)).body.status).toBe('queued');
      // A stale entry of the job reaches a real worker, whose guard repairs the record's own entry.
      await queue.add(PROVIDER_JOB_NAME, { id }, { jobId: `${id}.7` });
      await gateway.startWorker();
      const job = await api.waitForJob(id, undefined, 10_000);
      expect(job.status).toBe('succeeded');
      expect(gateway.logs.some((line) => line.includes('re-created a lost queue entry'))).toBe(true);
    } finally {
      await lost.close();
      await queue.close();
    }
  }, 30_000);
});
