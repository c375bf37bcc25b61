import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('dead letters and replay', () => {
  let a: FakeOpenAIServer;
  let b: FakeOpenAIServer;
  let gateway: Gateway;
  beforeAll(async () => {
    a = await startFakeOpenAI();
    b = await startFakeOpenAI();
    const provider = (url: string) => ({ type: 'openai-compatible' as const, base_url: url, concurrency: 2, retry: { attempts: 2, backoff_ms: 10, max_backoff_ms: 20 } });
    gateway = await startGateway(
      makeConfig({
        providers: { a: provider(a.url), b: provider(b.url) },
        routes: { default: ['a/m', 'b/m'] },
        breaker: { min_requests: 1000 },
        jobs: { max_attempts: 4 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('a job that exhausts every target is failed, dead-lettered with its history, and replayed by an admin', async () => {
    const down = { status: 503, body: { error: { message: 'overloaded' } } };
    a.script(down, down);
    b.script(down, down);
    const tenant = client(gateway.url, KEYS.acme);
    const submitted = await tenant.post('/v1/jobs', { model: 'default', messages: userMessage('doomed') });
    const failed = await tenant.waitForJob(submitted.body.id);
    expect(failed.status).toBe('failed');
    expect(failed.error).toMatchObject({ type: 'provider_error', code: 'max_attempts_exceeded' });
    expect(failed.attempts.map((attempt) => `${attempt.provider}:${attempt.status_code}`)).toEqual(['a:503', 'a:503', 'b:503', 'b:503']);
    expect(failed.routing.failovers).toEqual([expect.objectContaining({ from: 'a', to: 'b', reason: 'retries_exhausted' })]);

    // Listed for its tenant and for the admin, not for another tenant.
    const own = await tenant.get('/v1/dead-letters');
    expect(own.status).toBe(200);
    expect(own.body.data.map((job: { id: string }) => job.id)).toContain(failed.id);
    expect((await client(gateway.url, KEYS.globex).get('/v1/dead-letters')).body.data).toEqual([]);
    const admin = client(gateway.url, KEYS.admin);
    const listed = (await admin.get('/v1/dead-letters')).body.data.find((job: { id: string }) => job.id === failed.id);
    expect(listed).toMatchObject({ tenant: 'acme', status: 'failed', attempts: failed.attempts });

    // Replay is for admins: a tenant key gets 403.
    const refused = await tenant.post(`/v1/dead-letters/${failed.id}/replay`);
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ type: 'permission_error', code: 'admin_required' });
    expect((await admin.post('/v1/dead-letters/job_AAAAAAAAAAAAAAAAAAAAAA/replay')).status).toBe(404);

    // The replayed job gets jobs.max_attempts calls of its own: one more failure is retried, not final.
    a.script(down);
    const replayed = await admin.post(`/v1/dead-letters/${failed.id}/replay`);
    expect(replayed.status).toBe(202);
    expect(['queued', 'running', 'succeeded']).toContain(replayed.body.status); // a worker may already hold it
    const done = await tenant.waitForJob(failed.id);
    expect(done).toMatchObject({ status: 'succeeded', provider: 'a', error: null });
    // The history stays: four failed attempts, then the replay's failure and its success.
    expect(done.attempts.map((attempt) => attempt.outcome)).toEqual(['retryable_error', 'retryable_error', 'retryable_error', 'retryable_error', 'retryable_error', 'succeeded']);
    expect((await admin.get('/v1/dead-letters')).body.data.map((job: { id: string }) => job.id)).not.toContain(failed.id);
    // Replaying something that is not a dead letter is a 404, not a second run.
    expect((await admin.post(`/v1/dead-letters/${failed.id}/replay`)).status).toBe(404);
  });

  it('a fatal 400 fails the job without failover or dead letter; a context-length error fails over', async () => {
    a.script({ status: 400, body: { error: { message: 'Invalid value for temperature', type: 'invalid_request_error' } } });
    const api = client(gateway.url);
    const fatal = await api.waitForJob((await api.post('/v1/jobs', { model: 'default', messages: userMessage('fatal') })).body.id);
    expect(fatal).toMatchObject({ status: 'failed', error: { code: 'provider_fatal' } });
    expect(fatal.routing.failovers).toEqual([]);
    expect((await client(gateway.url, KEYS.admin).get('/v1/dead-letters')).body.data.map((job: { id: string }) => job.id)).not.toContain(fatal.id);

    a.script({ status: 400, body: { error: { message: "This model's maximum context length is 8192 tokens", type: 'invalid_request_error', code: 'context_length_exceeded' } } });
    const long = await api.waitForJob((await api.post('/v1/jobs', { model: 'default', messages: userMessage('long') })).body.id);
    expect(long).toMatchObject({ status: 'succeeded', provider: 'b' });
    expect(long.routing.failovers).toEqual([expect.objectContaining({ from: 'a', to: 'b', reason: 'context_length_exceeded' })]);
  });
});
