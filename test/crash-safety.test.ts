import { afterEach, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { startFakeOpenAI } from '@sluice/providers/testing';
import { createSpendLedger } from '@sluice/engine';
import { client, deletePrefix, KEYS, makeConfig, startGateway, testPrefix, userMessage, eventually } from './harness/gateway.ts';
import { ENTRY, spawnSluice, writeConfigFile, type SluiceProcess } from './harness/processes.ts';
import { startRedisServer } from './harness/redis-server.ts';

const running: SluiceProcess[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.kill('SIGKILL')));
  for (const close of closers.splice(0).reverse()) await close().catch(() => undefined);
});

describe('crash safety', () => {
  it('a worker killed with SIGKILL while 20 jobs run: after a restart all 20 succeed, none lost, each billed once', async () => {
    const fake = await startFakeOpenAI();
    closers.push(() => fake.close());
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    fake.setReply(async () => {
      await held;
      return {};
    });
    const prefix = testPrefix();
    closers.push(() => deletePrefix(inject('redisUrl'), prefix));
    const tree = {
      providers: { p: { type: 'openai-compatible' as const, base_url: fake.url, concurrency: 20, timeout_ms: 20_000 } },
      routes: { default: ['p/m'] },
      pricing: { 'p/m': { input: 1, output: 1 } },
      // Short locks so the test need not wait BullMQ's default 30 s to notice the dead worker.
      jobs: { lock_duration_ms: 2000, stalled_interval_ms: 1000 },
    };
    const file = writeConfigFile({ ...tree, redis: { url: inject('redisUrl'), prefix }, auth: { disabled: true } });
    const gateway = await startGateway(makeConfig(tree, prefix), { worker: false });
    closers.push(() => gateway.api!.close());
    const first = spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file });
    running.push(first);
    await first.waitForLog((line) => line.msg === 'worker pools started');

    const api = client(gateway.url);
    const ids = await Promise.all(Array.from({ length: 20 }, async (_, index) => (await api.post('/v1/jobs', { model: 'default', messages: userMessage(`crash ${index}`) })).body.id as string));
    await fake.waitForRequests(20);
    for (const id of ids) expect((await api.get(`/v1/jobs/${id}`)).body.status).toBe('running');
    expect(await first.kill('SIGKILL')).toBe(null);

    release();
    const second = spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file });
    running.push(second);
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 30_000)));
    expect(jobs.map((job) => job.status)).toEqual(Array(20).fill('succeeded'));
    for (const job of jobs) {
      expect(job.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted', 'succeeded']);
      expect(job.usage).toEqual({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
      expect(job.cost_usd).toBeCloseTo(21 / 1_000_000, 12);
    }
    // The provider was called twice per job (the first answers died with the worker); the tenant pays once.
    expect(fake.requests.filter((request) => request.method === 'POST')).toHaveLength(40);
    const redis = new Redis(inject('redisUrl'));
    try {
      const ledger = createSpendLedger(redis, prefix);
      await eventually(async () => Math.abs((await ledger.spent('acme', jobs[0]!.created_at)) - (20 * 21) / 1_000_000) < 1e-10, 5_000, 'spend of 20 jobs billed once');
    } finally {
      redis.disconnect();
    }
  }, 60_000);

  it('a worker killed with SIGKILL right after submitting a provider batch: no second submission, no job lost', async () => {
    const fake = await startFakeOpenAI();
    closers.push(() => fake.close());
    // The provider has the batch before the worker hears its id: the worker dies in between.
    fake.batches.script({ createReplyDelayMs: 10_000 });
    const prefix = testPrefix();
    closers.push(() => deletePrefix(inject('redisUrl'), prefix));
    const tree = {
      providers: {
        openai: {
          type: 'openai' as const, base_url: fake.url, api_key: 'test-key', timeout_ms: 1_000,
          batch: { enabled: true, max_wait_s: 0.2, poll_interval_s: 0.2, min_lead_s: 3600 },
        },
      },
      routes: { default: ['openai/gpt-4o-mini'] },
      jobs: { sweep_interval_ms: 100 },
    };
    const file = writeConfigFile({ ...tree, redis: { url: inject('redisUrl'), prefix }, auth: { disabled: true } });
    const gateway = await startGateway(makeConfig(tree, prefix), { worker: false });
    closers.push(() => gateway.api!.close());
    const first = spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file });
    running.push(first);
    await first.waitForLog((line) => line.msg === 'worker pools started');

    const api = client(gateway.url);
    const ids = await Promise.all(Array.from({ length: 5 }, async (_, index) => (await api.post('/v1/jobs', { model: 'default', tier: 'economy', deadline_s: 48 * 3600, messages: userMessage(`deferred ${index}`) })).body.id as string));
    await eventually(() => fake.batches.all.length === 1, 10_000, 'the provider batch created');
    expect(await first.kill('SIGKILL')).toBe(null);

    const second = spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file });
    running.push(second);
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 30_000)));
    expect(jobs.map((job) => [job.status, job.execution.mode])).toEqual(Array(5).fill(['succeeded', 'provider_batch']));
    expect(new Set(jobs.map((job) => job.execution.provider_batch_id))).toEqual(new Set([fake.batches.all[0]!.id]));
    expect(fake.batches.all).toHaveLength(1);
    expect(fake.requests.filter((request) => request.method === 'POST' && request.path.endsWith('/chat/completions'))).toHaveLength(0);
  }, 60_000);

  it('API and worker ride out a Redis restart and dropped connections, and carry on when Redis is back', async () => {
    const fake = await startFakeOpenAI();
    closers.push(() => fake.close());
    let redis = await startRedisServer({ args: ['--appendonly', 'yes', '--appendfsync', 'always'], keepDir: true });
    const { port, dir } = redis;
    closers.push(() => redis.stop());
    const config = makeConfig({
      providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 4 } },
      routes: { default: ['p/m'] },
      redis: { url: redis.url, prefix: testPrefix() },
    });
    const gateway = await startGateway(config);
    closers.push(() => gateway.close());
    const api = client(gateway.url, KEYS.acme);
    const submitAll = (label: string, count: number) =>
      Promise.all(Array.from({ length: count }, async (_, index) => (await api.post('/v1/jobs', { model: 'default', messages: userMessage(`${label} ${index}`) })).body.id as string));

    const before = await submitAll('before', 5);
    await Promise.all(before.map((id) => api.waitForJob(id)));

    // Dropped connections: every client of this Redis is cut while jobs run.
    fake.setReply(() => ({ delayMs: 200 }));
    const during = await submitAll('dropped', 8);
    await fake.waitForRequests(5 + 4);
    const admin = new Redis(redis.url);
    await admin.client('KILL', 'TYPE', 'normal');
    admin.disconnect();
    // A poll that lands while the API reconnects gets a 503 (it fails fast rather than hang); clients retry.
    const settled = (id: string) =>
      eventually(async () => {
        const reply = await api.get(`/v1/jobs/${id}`);
        return reply.status === 200 && reply.body.status === 'succeeded' ? reply.body : undefined;
      }, 20_000, `job ${id} succeeded`);
    const dropped = await Promise.all(during.map(settled));
    expect(dropped).toHaveLength(8);

    // A restart: while Redis is down the API answers 503 (never hangs, never 500), then recovers.
    fake.setReply(() => ({}));
    await redis.stop();
    expect((await api.get('/readyz')).status).toBe(503);
    const refused = await api.post('/v1/jobs', { model: 'default', messages: userMessage('while down') });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('redis_unavailable');
    redis = await startRedisServer({ args: ['--appendonly', 'yes'], port, dir, keepDir: false });
    await eventually(async () => (await api.get('/readyz')).status === 200, 20_000, 'API ready again');
    // What was accepted before the restart is still there (AOF), and new work flows.
    expect((await api.get(`/v1/jobs/${before[0]}`)).body.status).toBe('succeeded');
    const after = await submitAll('after', 5);
    const done = await Promise.all(after.map((id) => api.waitForJob(id, undefined, 20_000)));
    expect(done.map((job) => job.status)).toEqual(Array(5).fill('succeeded'));
  }, 60_000);

  it('a job whose worker is killed twice mid-call is failed by BullMQ and moved on to its next target', async () => {
    const a = await startFakeOpenAI();
    const b = await startFakeOpenAI();
    closers.push(() => a.close(), () => b.close());
    a.setReply(() => ({ hang: true })); // every call on a is still running when its worker dies
    const prefix = testPrefix();
    closers.push(() => deletePrefix(inject('redisUrl'), prefix));
    const tree = {
      providers: {
        a: { type: 'openai-compatible' as const, base_url: a.url, timeout_ms: 60_000 },
        b: { type: 'openai-compatible' as const, base_url: b.url },
      },
      routes: { default: ['a/m', 'b/m'] },
      jobs: { lock_duration_ms: 2000, stalled_interval_ms: 1000 }, // renewed every second: a worker starting beside it may stall that long
    };
    const file = writeConfigFile({ ...tree, redis: { url: inject('redisUrl'), prefix }, auth: { disabled: true } });
    const gateway = await startGateway(makeConfig(tree, prefix), { worker: false });
    closers.push(() => gateway.api!.close());
    const api = client(gateway.url);

    const spawnWorker = async (): Promise<SluiceProcess> => {
      const worker = spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file });
      running.push(worker);
      await worker.waitForLog((line) => line.msg === 'worker pools started');
      return worker;
    };
    const first = await spawnWorker();
    const id = (await api.post('/v1/jobs', { model: 'default', messages: userMessage('poison') })).body.id as string;
    await a.waitForRequests(1);
    await first.kill('SIGKILL');
    // Death one: the stall check hands the entry to the next worker, which runs it again on a.
    const second = await spawnWorker();
    await a.waitForRequests(2, 15_000);
    await second.kill('SIGKILL');
    // Death two: BullMQ fails the entry; the failed handler moves the job to b, which answers.
    const third = await spawnWorker();
    const job = await api.waitForJob(id, undefined, 20_000);
    expect(job).toMatchObject({ status: 'succeeded', provider: 'b' });
    expect(job.attempts.map((attempt) => `${attempt.provider}:${attempt.outcome}`)).toEqual(['a:interrupted', 'a:interrupted', 'b:succeeded']);
    expect(job.routing.failovers).toEqual([expect.objectContaining({ from: 'a', to: 'b', reason: 'worker_lost' })]);
    await third.waitForLog((line) => line.msg === 'queue entry failed outside the provider call; moving the job on' && line.job_id === id);
    expect(a.requests.filter((request) => request.method === 'POST')).toHaveLength(2);
  }, 60_000);
});
