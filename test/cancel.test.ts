import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { bullQueueName, providerQueueName } from '@sluice/engine';
import { client, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('cancel', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  afterEach(async () => {
    await gateway?.close();
    await fake?.close();
  });

  const setup = async (withWorker: boolean) => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({ providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 2 } }, routes: { default: ['p/m'] } }),
      { worker: withWorker },
    );
    return client(gateway.url);
  };

  it('cancels a queued job at once and it never reaches the provider', async () => {
    const api = await setup(false);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('never run') });
    const canceled = await api.post(`/v1/jobs/${submitted.body.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body).toMatchObject({ id: submitted.body.id, status: 'canceled', error: { code: 'canceled' } });
    expect(canceled.body.completed_at).not.toBeNull();

    const redis = new Redis(gateway.config.redis.url);
    const queue = new Queue(bullQueueName(providerQueueName('p')), { connection: redis, prefix: gateway.config.redis.prefix });
    expect(await queue.getJob(submitted.body.id)).toBeUndefined();
    await queue.close();
    redis.disconnect();

    // A worker started now runs the next job but never the canceled one.
    await gateway.startWorker();
    const next = await api.post('/v1/jobs', { model: 'default', messages: userMessage('after') });
    await api.waitForJob(next.body.id);
    expect(fake.requests).toHaveLength(1);
    expect(fake.requests.some((request) => JSON.stringify(request.body).includes('never run'))).toBe(false);
    expect((await api.get(`/v1/jobs/${submitted.body.id}`)).body.status).toBe('canceled');

    const again = await api.post(`/v1/jobs/${submitted.body.id}/cancel`);
    expect(again.status).toBe(409);
    expect(again.body.error.code).toBe('job_not_cancelable');
  });

  it('cancels a running job: the provider call is aborted and the job ends canceled', async () => {
    const api = await setup(true);
    fake.script({ hang: true });
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('hang') });
    await fake.waitForRequests(1);
    expect((await api.get(`/v1/jobs/${submitted.body.id}`)).body.status).toBe('running');

    const canceled = await api.post(`/v1/jobs/${submitted.body.id}/cancel`);
    expect(canceled.status).toBe(200);
    expect(canceled.body.status).toBe('canceled');
    const aborted = await fake.waitForAbort();
    expect(JSON.stringify(aborted.body)).toContain('hang');

    const job = await api.waitForJob(submitted.body.id, (j) => j.attempts.length === 1);
    expect(job.status).toBe('canceled');
    expect(job.attempts[0]).toMatchObject({ outcome: 'canceled', provider: 'p' });
    expect(job.result).toBeNull();
  });

  it('answers 404 for another tenant’s job and leaves it running', async () => {
    const api = await setup(true);
    fake.script({ delayMs: 300 });
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('mine') });
    const intruder = await client(gateway.url, 'sk-test-globex-0002').post(`/v1/jobs/${submitted.body.id}/cancel`);
    expect(intruder.status).toBe(404);
    expect((await api.waitForJob(submitted.body.id)).status).toBe('succeeded');
  });
});
