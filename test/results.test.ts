import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('ways back: long-poll, server-sent events, synchronous chat', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 4 } },
        routes: { default: ['p/gpt-test'] },
        pricing: { 'p/gpt-test': { input: 1, output: 2 } },
        server: { host: '127.0.0.1', port: 0, sync_timeout_s: 2 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('GET /v1/jobs/{id}?wait=N returns as soon as the job ends, not after N seconds', async () => {
    fake.script({ delayMs: 300 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('long-poll') });
    const started = Date.now();
    const reply = await api.get(`/v1/jobs/${submitted.body.id}?wait=30`);
    const tookMs = Date.now() - started;
    expect(reply.status).toBe(200);
    expect(reply.body.status).toBe('succeeded');
    expect(tookMs).toBeGreaterThanOrEqual(250);
    expect(tookMs).toBeLessThan(3_000);
    // Unknown ids, another tenant's, and a bad wait are answered as usual.
    expect((await client(gateway.url, KEYS.globex).get(`/v1/jobs/${submitted.body.id}?wait=5`)).status).toBe(404);
    const bad = await api.get(`/v1/jobs/${submitted.body.id}?wait=600`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('wait');
  });

  it('a long-poll that runs out returns the job as it is', async () => {
    fake.script({ delayMs: 1_500 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('slow') });
    const reply = await api.get(`/v1/jobs/${submitted.body.id}?wait=0.3`);
    expect(reply.status).toBe(200);
    expect(['queued', 'running']).toContain(reply.body.status);
    await api.waitForJob(submitted.body.id);
  });

  it('GET /v1/jobs/{id}/events streams each status change and ends after the terminal one', async () => {
    fake.script({ delayMs: 200 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('sse') });
    const response = await fetch(`${gateway.url}/v1/jobs/${submitted.body.id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const text = await response.text(); // ends when the server ends the stream
    const events = text.split('\n\n').filter((block) => block.includes('event: status')).map((block) => JSON.parse(block.split('\ndata: ')[1] ?? '{}'));
    const statuses = events.map((event: { status: string }) => event.status);
    expect(statuses.at(-1)).toBe('succeeded');
    expect(statuses).toContain('running');
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(events.at(-1).result.choices[0].message.content).toBe('fake: sse');
  });

  it('POST /v1/chat/completions waits and returns a chat.completion with the x-sluice headers', async () => {
    const api = client(gateway.url);
    const reply = await api.post('/v1/chat/completions', { model: 'default', messages: userMessage('sync please') });
    expect(reply.status).toBe(200);
    expect(reply.body).toMatchObject({ object: 'chat.completion', choices: [{ message: { role: 'assistant', content: 'fake: sync please' } }] });
    const jobId = reply.headers.get('x-sluice-job-id');
    expect(jobId).toMatch(/^job_/);
    expect(reply.headers.get('x-sluice-provider')).toBe('p');
    expect(Number(reply.headers.get('x-sluice-cost-usd'))).toBeCloseTo((9 * 1 + 12 * 2) / 1_000_000, 12);
    const job = (await api.get(`/v1/jobs/${jobId}`)).body;
    expect(job).toMatchObject({ status: 'succeeded', priority: 'high' });
  });

  it('chat completions: a provider 400 is a 400; a job past sync_timeout_s is a 504 naming the job', async () => {
    const api = client(gateway.url);
    fake.script({ status: 400, body: { error: { message: 'Invalid value for top_p' } } });
    const rejected = await api.post('/v1/chat/completions', { model: 'default', messages: userMessage('x') });
    expect(rejected.status).toBe(400);
    expect(rejected.body.error.message).toContain('Invalid value for top_p');

    fake.script({ delayMs: 4_000 });
    const slow = await api.post('/v1/chat/completions', { model: 'default', messages: userMessage('too slow') });
    expect(slow.status).toBe(504);
    expect(slow.body.error.code).toBe('timeout');
    expect(slow.headers.get('x-sluice-job-id')).toMatch(/^job_/);
  });
});
