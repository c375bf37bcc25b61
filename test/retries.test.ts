import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('worker retries on one target', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        // A timeout a loaded machine's answers stay well inside (the hung call waits it out once).
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 1, timeout_ms: 1_000, retry: { attempts: 3, backoff_ms: 20, max_backoff_ms: 100 } } },
        routes: { default: ['p/m'] },
        // Retries alone here: the breaker (test/reliability) would otherwise open after these failures.
        breaker: { min_requests: 1000 },
        // Three calls in all: a job whose only target keeps failing ends after its third.
        jobs: { max_attempts: 3 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('retries a 500 and a timeout with backoff, then succeeds; every attempt is on the job', async () => {
    fake.script({ status: 500, body: { error: { message: 'boom' } } }, { hang: true });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('flaky') });
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.attempts.map((attempt) => attempt.outcome)).toEqual(['retryable_error', 'timeout', 'succeeded']);
    expect(job.attempts[0]).toMatchObject({ status_code: 500, error: expect.stringContaining('boom') });
    expect(job.attempts[1]).toMatchObject({ status_code: null });
  });

  it('fails a job at once on a fatal 400, without retrying', async () => {
    fake.script({ status: 400, body: { error: { message: 'Unsupported value: temperature' } } });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('bad request') });
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('failed');
    expect(job.attempts).toHaveLength(1);
    expect(job.error).toMatchObject({ type: 'provider_error', code: 'provider_fatal', message: expect.stringContaining('Unsupported value') });
  });

  it('fails a job at jobs.max_attempts calls (another round would follow otherwise)', async () => {
    fake.script({ status: 503 }, { status: 502 }, { status: 500 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('always down') });
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('failed');
    expect(job.attempts.map((attempt) => attempt.status_code)).toEqual([503, 502, 500]);
    expect(job.error?.code).toBe('max_attempts_exceeded');
  });
});
