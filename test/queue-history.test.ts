import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { bullQueueName, providerQueueName } from '@sluice/engine';
import type { GatewayConfigInput } from '@sluice/shared';
import { client, eventually, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startRedisServer, type TestRedis } from './harness/redis-server.ts';

/**
 * Finished queue entries are kept for Bull Board by `queues.keep_completed` and `queues.keep_failed`
 * (count and age), and what each costs in Redis is measured here: the README's figures come from
 * this test's output.
 */
describe('finished queue entries kept as history', () => {
  let gateway: Gateway | undefined;
  let redis: Redis | undefined;
  let queue: Queue | undefined;
  let server: TestRedis | undefined;
  afterEach(async () => {
    await queue?.close();
    redis?.disconnect();
    await gateway?.close();
    await server?.stop();
    [gateway, redis, queue, server] = [undefined, undefined, undefined, undefined];
  });

  const start = async (input: Partial<GatewayConfigInput>) => {
    gateway = await startGateway(makeConfig({ providers: { mock: { type: 'mock', latency_ms: 0, concurrency: 16 } }, routes: { default: ['mock/echo'] }, ...input }));
    redis = new Redis(gateway.config.redis.url);
    queue = new Queue(bullQueueName(providerQueueName('mock')), { connection: redis, prefix: gateway.config.redis.prefix });
    return { api: client(gateway.url), queue };
  };

  it('keeps the most recent completed entries by count; older than age_s, they go as later entries finish', async () => {
    // The eight entries all finish well within age_s, so only the count trims them at first.
    const { api, queue } = await start({ queues: { keep_completed: { count: 5, age_s: 3 } } });
    const kept = async () => (await queue.getJobs(['completed'], 0, -1)).map((job) => job.data.id).sort();
    const ids: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const [id] = await runJobs(api, 1); // one at a time: the entries finish in this order
      ids.push(id!);
      await eventually(async () => (await kept()).includes(id!), 5_000, 'its entry completed');
    }
    expect(await kept()).toEqual(ids.slice(-5).sort());
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    const [latest] = await runJobs(api, 1);
    await eventually(async () => (await kept()).includes(latest!), 5_000, 'its entry completed');
    expect(await kept()).toEqual([latest]);
  });

  it('count 0 keeps none, completed or failed', async () => {
    const { api, queue } = await start({
      providers: { mock: { type: 'mock', latency_ms: 0, failure_rate: 0.5, retry: { attempts: 1, backoff_ms: 1, max_backoff_ms: 1 } } },
      breaker: { min_requests: 1_000_000 },
      jobs: { max_attempts: 1 },
      queues: { keep_completed: { count: 0, age_s: 3600 }, keep_failed: { count: 0, age_s: 3600 } },
    });
    const ids = await runJobs(api, 20);
    const statuses = new Set(await Promise.all(ids.map(async (id) => (await api.get(`/v1/jobs/${id}`)).body.status as string)));
    expect(statuses).toEqual(new Set(['succeeded', 'failed']));
    expect(await queue.getJobCounts('completed', 'failed')).toEqual({ completed: 0, failed: 0 });
  });

  it('what a kept entry costs in Redis (MEMORY USAGE), with the default hash-max-listpack-value and with 256', async () => {
    // A server of its own: the second half changes its config.
    server = await startRedisServer();
    const admin = new Redis(server.url);
    try {
      const standard = await measure(server.url);
      await admin.config('SET', 'hash-max-listpack-value', '256');
      const compact = await measure(server.url);
      const line = (what: string, size: EntrySize) => `${what} ${size.total} B (hash ${size.hash} B, ${size.encoding}, + ${size.set} B in its state's set)`;
      console.log(`[queue history] per kept entry: ${line('completed', standard.completed)}; ${line('failed', standard.failed)}`);
      console.log(`[queue history] with hash-max-listpack-value 256: ${line('completed', compact.completed)}; ${line('failed', compact.failed)}`);
      // The README's figures: about 1.2 KB per completed entry and 1.6 KB per failed one; 0.6 and 1 KB with 256.
      expect(standard.completed.total).toBeLessThan(1_300);
      expect(standard.failed.total).toBeLessThan(1_700);
      expect(compact.completed.encoding).toBe('listpack');
      expect(compact.completed.total).toBeLessThan(700);
      expect(compact.failed.total).toBeLessThan(1_100);
    } finally {
      admin.disconnect();
    }
  }, 120_000);
});

/** Submits `count` jobs, 50 at a time, and waits until each has ended. */
async function runJobs(api: ReturnType<typeof client>, count: number, model = 'default'): Promise<string[]> {
  const ids: string[] = [];
  for (let start = 0; start < count; start += 50) {
    const chunk = await Promise.all(Array.from({ length: Math.min(50, count - start) }, async () => (await api.post('/v1/jobs', { model, messages: userMessage('history') })).body.id as string));
    await Promise.all(chunk.map((id) => api.waitForJob(id, undefined, 30_000)));
    ids.push(...chunk);
  }
  return ids;
}

interface EntrySize {
  hash: number;
  set: number;
  total: number;
  encoding: string;
}

/**
 * Runs 300 jobs that succeed and 300 that fail (past 128 members, a sorted set takes its larger
 * encoding, as at the default 1000) on the Redis at `url`, and measures their kept entries.
 */
async function measure(url: string): Promise<{ completed: EntrySize; failed: EntrySize }> {
  const gateway = await startGateway(
    makeConfig({
      redis: { url },
      providers: {
        mock: { type: 'mock', latency_ms: 0, concurrency: 16 },
        broken: { type: 'mock', latency_ms: 0, concurrency: 16, failure_rate: 1, retry: { attempts: 1, backoff_ms: 1, max_backoff_ms: 1 } },
      },
      routes: { default: ['mock/echo'], doomed: ['broken/echo'] },
      breaker: { min_requests: 1_000_000 },
      jobs: { max_attempts: 1 },
    }),
  );
  const redis = new Redis(url);
  const open = (provider: string) => new Queue(bullQueueName(providerQueueName(provider)), { connection: redis, prefix: gateway.config.redis.prefix });
  const [succeeding, failing] = [open('mock'), open('broken')];
  try {
    const api = client(gateway.url);
    await runJobs(api, 300);
    await runJobs(api, 300, 'doomed');
    // An entry finishes just after the job it ran ended.
    await eventually(async () => (await succeeding.getJobCounts('completed')).completed === 300, 5_000, '300 completed entries');
    await eventually(async () => (await failing.getJobCounts('failed')).failed === 300, 5_000, '300 failed entries');
    return { completed: await perEntry(redis, succeeding, 'completed'), failed: await perEntry(redis, failing, 'failed') };
  } finally {
    await Promise.all([succeeding.close(), failing.close()]);
    redis.disconnect();
    await gateway.close();
  }
}

/** Bytes per kept entry of one state: its job hash (mean of every entry's), and its share of the state's sorted set. */
async function perEntry(redis: Redis, queue: Queue, state: 'completed' | 'failed'): Promise<EntrySize> {
  const ids = await redis.zrange(`${queue.qualifiedName}:${state}`, 0, -1);
  const sizes = await Promise.all(ids.map(async (id) => Number(await redis.call('MEMORY', 'USAGE', `${queue.qualifiedName}:${id}`, 'SAMPLES', '0'))));
  const hash = Math.round(sizes.reduce((sum, size) => sum + size, 0) / ids.length);
  const set = Math.round(Number(await redis.call('MEMORY', 'USAGE', `${queue.qualifiedName}:${state}`, 'SAMPLES', '0')) / ids.length);
  const encoding = String(await redis.call('OBJECT', 'ENCODING', `${queue.qualifiedName}:${ids[0]}`));
  return { hash, set, total: hash + set, encoding };
}
