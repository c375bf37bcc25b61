import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('submit → queue → provider → poll', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;

  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: {
          mock: { type: 'mock', latency_ms: 5 },
          local: { type: 'openai-compatible', base_url: fake.url, api_key: 'sk-local-secret-9999', concurrency: 4 },
        },
        routes: { default: ['mock/echo'], local: ['local/llama3.1'] },
        pricing: { 'local/llama3.1': { input: 1, output: 2 } },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('serves a job through the mock adapter', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('Hi there'), metadata: { user: '42' } });
    expect(submitted.status).toBe(202);
    expect(submitted.headers.get('location')).toBe(`/v1/jobs/${submitted.body.id}`);
    expect(submitted.body).toMatchObject({ object: 'job', status: 'queued', model: 'default', priority: 'normal', tier: 'standard', metadata: { user: '42' } });

    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.provider).toBe('mock');
    expect(job.provider_model).toBe('echo');
    expect(job.result?.object).toBe('chat.completion');
    expect(job.result?.choices[0]?.message.content).toBe('echo: Hi there');
    expect(job.usage?.total_tokens).toBeGreaterThan(0);
    expect(job.cost_usd).toBe(0);
    expect(job.attempts).toHaveLength(1);
    expect(job.attempts[0]).toMatchObject({ provider: 'mock', model: 'echo', outcome: 'succeeded', status_code: 200, error: null });
    expect(job.started_at).not.toBeNull();
    expect(job.completed_at).not.toBeNull();
    expect(job.routing.candidates).toEqual([{ provider: 'mock', model: 'echo', est_cost_usd: 0, eligible: true, reason: null }]);
  });

  it('serves a job through the openai-compatible adapter and normalizes the reply', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'local', messages: userMessage('Hello fake'), max_tokens: 50, temperature: 0, seed: 7 });
    expect(submitted.status).toBe(202);
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.provider).toBe('local');
    expect(job.provider_model).toBe('llama3.1');
    expect(job.result).toMatchObject({
      object: 'chat.completion',
      model: 'llama3.1',
      choices: [{ index: 0, message: { role: 'assistant', content: 'fake: Hello fake' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
    });
    expect(job.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
    expect(job.cost_usd).toBeCloseTo((9 * 1 + 12 * 2) / 1_000_000, 12);
    expect(job.attempts).toEqual([expect.objectContaining({ provider: 'local', model: 'llama3.1', outcome: 'succeeded', status_code: 200 })]);

    const seen = fake.requests.find((request) => JSON.stringify(request.body).includes('Hello fake'));
    expect(seen?.headers.authorization).toBe('Bearer sk-local-secret-9999');
    expect(seen?.body).toEqual({ model: 'llama3.1', messages: userMessage('Hello fake'), max_tokens: 50, temperature: 0, seed: 7 });
  });

  it('lists the tenant’s jobs newest first, paginated and filtered', async () => {
    const api = client(gateway.url);
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const reply = await api.post('/v1/jobs', { model: 'default', messages: userMessage(`list ${index}`) });
      ids.push(reply.body.id);
      await new Promise((resolve) => setTimeout(resolve, 3)); // distinct creation times
    }
    for (const id of ids) await api.waitForJob(id);
    const first = await api.get('/v1/jobs?limit=2');
    expect(first.status).toBe(200);
    expect(first.body.object).toBe('list');
    expect(first.body.data.map((job: { id: string }) => job.id)).toEqual([ids[4], ids[3]]);
    expect(first.body.has_more).toBe(true);
    const second = await api.get(`/v1/jobs?limit=2&after=${first.body.last_id}`);
    expect(second.body.data.map((job: { id: string }) => job.id)).toEqual([ids[2], ids[1]]);
    const succeeded = await api.get('/v1/jobs?status=succeeded&limit=100');
    expect(succeeded.body.data.every((job: { status: string }) => job.status === 'succeeded')).toBe(true);
    const queued = await api.get('/v1/jobs?status=queued');
    expect(queued.body.data).toEqual([]);
    const other = await client(gateway.url, 'sk-test-globex-0002').get('/v1/jobs?limit=100');
    expect(other.body.data.filter((job: { id: string }) => ids.includes(job.id))).toEqual([]);
  });

  it('an ended job leaves the deadline index, which holds only jobs that can still expire', async () => {
    const api = client(gateway.url);
    fake.script({ delayMs: 300 });
    const submitted = await api.post('/v1/jobs', { model: 'local', messages: userMessage('index me') });
    const redis = new Redis(gateway.config.redis.url);
    try {
      const key = `${gateway.config.redis.prefix}:expiry`;
      expect(await redis.zscore(key, submitted.body.id)).toBe(String(submitted.body.expires_at));
      await api.waitForJob(submitted.body.id);
      await eventually(async () => (await redis.zscore(key, submitted.body.id)) === null, 5_000, 'deadline entry removed');
    } finally {
      redis.disconnect();
    }
  });

  it('writes a job finished log line with the job, tenant, route, provider, model, attempt, latency, queue wait, token and outcome fields, and never the provider key or the prompt', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'local', messages: userMessage('log me') });
    await api.waitForJob(submitted.body.id);
    // The line is written just after the status flips, so the poll can see `succeeded` first.
    const finished = await eventually(() => gateway.logs.map((line) => JSON.parse(line)).find((line) => line.job_id === submitted.body.id && line.msg === 'job finished'), 5_000, 'job finished log line');
    expect(finished).toMatchObject({ tenant: 'acme', route: 'local', provider: 'local', model: 'llama3.1', attempt: 1, outcome: 'succeeded', prompt_tokens: 9, completion_tokens: 12 });
    expect(typeof finished.latency_ms).toBe('number');
    expect(typeof finished.queue_wait_ms).toBe('number');
    expect(gateway.logs.join('\n')).not.toContain('sk-local-secret-9999');
    expect(gateway.logs.join('\n')).not.toContain('log me'); // no prompt text unless log_content
  });
});

describe('log_content', () => {
  it('puts the prompt and the completion in the job finished line only when log_content is true', async () => {
    for (const logContent of [true, false]) {
      const gateway = await startGateway(makeConfig({ providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] }, log_content: logContent }));
      try {
        const api = client(gateway.url);
        const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('secret recipe') });
        await api.waitForJob(submitted.body.id);
        const line = await eventually(() => gateway.logs.map((text) => JSON.parse(text)).find((entry) => entry.job_id === submitted.body.id && entry.msg === 'job finished'), 5_000, 'job finished line');
        if (logContent) {
          expect(line.messages).toEqual([{ role: 'user', content: 'secret recipe' }]);
          expect(line.completion[0].content).toBe('echo: secret recipe');
        } else {
          expect(gateway.logs.join('\n')).not.toContain('secret recipe');
        }
      } finally {
        await gateway.close();
      }
    }
  });
});

describe('priority and cost tier', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  afterEach(async () => {
    await gateway?.close();
    await fake?.close();
  });

  it('runs high before normal before low, and premium before standard before economy within one', async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: { solo: { type: 'openai-compatible', base_url: fake.url, concurrency: 1 } },
        routes: { default: ['solo/m'] },
      }),
      { worker: false },
    );
    const api = client(gateway.url);
    const order = [
      ['low', 'economy'], ['normal', 'standard'], ['high', 'economy'], ['low', 'premium'], ['normal', 'premium'],
      ['high', 'standard'], ['normal', 'economy'], ['high', 'premium'], ['low', 'standard'],
    ] as const;
    const ids: string[] = [];
    for (const [priority, tier] of order) {
      const reply = await api.post('/v1/jobs', { model: 'default', messages: userMessage(`${priority}-${tier}`), priority, tier });
      expect(reply.status).toBe(202);
      ids.push(reply.body.id);
    }
    await gateway.startWorker();
    for (const id of ids) await api.waitForJob(id);
    const served = fake.requests.map((request) => (request.body as { messages: { content: string }[] }).messages[0]?.content);
    expect(served).toEqual([
      'high-premium', 'high-standard', 'high-economy',
      'normal-premium', 'normal-standard', 'normal-economy',
      'low-premium', 'low-standard', 'low-economy',
    ]);
  });
});
