import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer, type RecordedRequest } from '@sluice/providers/testing';
import { client, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const unavailable = { status: 503, body: { error: { message: 'overloaded' } } };

describe('a correlated outage: both targets down, breakers opening at different times', () => {
  let a: FakeOpenAIServer;
  let b: FakeOpenAIServer;
  let gateway: Gateway;

  beforeEach(async () => {
    a = await startFakeOpenAI();
    b = await startFakeOpenAI();
  });
  afterEach(async () => {
    await gateway?.close();
    await Promise.all([a.close(), b.close()]);
  });

  const start = async (jobs: Record<string, unknown> = {}, attempts = 2) => {
    const retry = { attempts, backoff_ms: 20, max_backoff_ms: 150 };
    gateway = await startGateway(
      makeConfig({
        providers: {
          a: { type: 'openai-compatible', base_url: a.url, concurrency: 4, timeout_ms: 2000, retry },
          b: { type: 'openai-compatible', base_url: b.url, concurrency: 4, timeout_ms: 2000, retry },
        },
        routes: { default: ['a/m', 'b/m'] },
        breaker: { window_s: 5, min_requests: 10, failure_ratio: 0.5, cooldown_s: 0.3, max_cooldown_s: 0.6 },
        jobs: { sweep_interval_ms: 100, ...jobs },
      }),
    );
  };

  it('20 jobs on [A, B] all succeed once B recovers, after rounds over both targets', async () => {
    // A answers its health probe (a model listing) but fails every completion, so its circuit keeps
    // closing and reopening; B is down for everything for 2.5 s, then recovers.
    a.setReply((request: RecordedRequest) => (request.method === 'POST' ? unavailable : {}));
    // B's outage is timed from when the gateway is up (starting it takes longer on a loaded machine),
    // and one attempt per target makes the rounds come within it.
    let recoversAt = Infinity;
    b.setReply(() => (Date.now() < recoversAt ? unavailable : {}));
    await start({}, 1);
    recoversAt = Date.now() + 2_500;
    const api = client(gateway.url);
    const submitted = await Promise.all(Array.from({ length: 20 }, (_, index) => api.post('/v1/jobs', { model: 'default', messages: userMessage(`job ${index}`) })));
    expect(submitted.map((reply) => reply.status)).toEqual(Array(20).fill(202));

    const jobs = await Promise.all(submitted.map((reply) => api.waitForJob(reply.body.id, undefined, 25_000)));
    expect(jobs.filter((job) => job.status !== 'succeeded').map((job) => [job.id, job.status, job.error?.code])).toEqual([]);
    expect(new Set(jobs.map((job) => job.provider))).toEqual(new Set(['b']));
    // The outage was real for these jobs: they failed on both targets before B served them, and
    // some went round more than once instead of failing with all_targets_failed.
    const failedOnBoth = jobs.filter((job) => job.attempts.some((attempt) => attempt.provider === 'a' && attempt.outcome !== 'succeeded') && job.attempts.some((attempt) => attempt.provider === 'b' && attempt.outcome !== 'succeeded'));
    expect(failedOnBoth.length).toBeGreaterThan(0);
    const rounds = jobs.flatMap((job) => job.routing.failovers.filter((failover) => failover.reason === 'new_round'));
    expect(rounds.length).toBeGreaterThan(0);
    for (const job of jobs) expect(job.attempts.filter((attempt) => attempt.outcome !== 'rate_limited').length).toBeLessThanOrEqual(20);
  }, 40_000);

  it('a job fails at jobs.max_attempts calls when nothing recovers, into the dead letters', async () => {
    a.setReply((request: RecordedRequest) => (request.method === 'POST' ? unavailable : {}));
    b.setReply((request: RecordedRequest) => (request.method === 'POST' ? unavailable : {}));
    await start({ max_attempts: 6 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('doomed') });
    const job = await api.waitForJob(submitted.body.id, undefined, 20_000);
    expect(job.status).toBe('failed');
    expect(job.error).toMatchObject({ code: 'max_attempts_exceeded' });
    expect(job.attempts.filter((attempt) => attempt.outcome === 'retryable_error')).toHaveLength(6);
    const letters = await client(gateway.url).get('/v1/dead-letters');
    expect(letters.body.data.map((entry: { id: string }) => entry.id)).toContain(job.id);
  }, 30_000);

  it('a target that can never take the job (context too long) is not tried again in a new round', async () => {
    a.setReply((request: RecordedRequest) => (request.method === 'POST' ? { status: 400, body: { error: { message: "This model's maximum context length is 10 tokens", code: 'context_length_exceeded' } } } : {}));
    // B's outage is timed from when the gateway is up, so the job meets it (starting takes longer on a loaded machine).
    let recoversAt = Infinity;
    b.setReply(() => (Date.now() < recoversAt ? unavailable : {}));
    await start();
    recoversAt = Date.now() + 1_500;
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('long') });
    const job = await api.waitForJob(submitted.body.id, undefined, 20_000);
    expect(job.status).toBe('succeeded');
    expect(job.provider).toBe('b');
    // B failed it first, so it went round again, and that round left A out.
    expect(job.routing.failovers.some((failover: { reason: string }) => failover.reason === 'new_round')).toBe(true);
    expect(job.attempts.filter((attempt) => attempt.provider === 'a')).toHaveLength(1);
  }, 30_000);
});
