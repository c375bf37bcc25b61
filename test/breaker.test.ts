import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { FLEX_UNAVAILABLE_REPLY, startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import type { JobObject } from '@sluice/engine';
import { client, eventually, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const down = () => ({ status: 500, body: { error: { message: 'upstream exploded' } } });
const healthy = () => ({});

interface ProviderView {
  id: string;
  circuit: { state: string; reason: string | null };
  paused: boolean;
  error_ratio: number;
  queue: { waiting: number; delayed: number; active: number };
  latency_ms: { p50: number | null; p95: number | null };
}

async function providerView(api: ReturnType<typeof client>, id: string): Promise<ProviderView> {
  const reply = await api.get('/v1/providers');
  expect(reply.status).toBe(200);
  const view = (reply.body.data as ProviderView[]).find((provider) => provider.id === id);
  if (view === undefined) throw new Error(`provider ${id} missing from /v1/providers`);
  return view;
}

describe('circuit breaker, queue pause and failover', () => {
  let a: FakeOpenAIServer;
  let b: FakeOpenAIServer;
  let gateway: Gateway;

  beforeEach(async () => {
    a = await startFakeOpenAI();
    b = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: {
          a: { type: 'openai-compatible', base_url: a.url, concurrency: 8, timeout_ms: 2000, retry: { attempts: 3, backoff_ms: 20, max_backoff_ms: 100 } },
          b: { type: 'openai-compatible', base_url: b.url, concurrency: 16, timeout_ms: 2000, retry: { attempts: 3, backoff_ms: 20, max_backoff_ms: 100 } },
        },
        routes: { default: ['a/m', 'b/m'] },
        breaker: { window_s: 30, min_requests: 3, failure_ratio: 0.5, cooldown_s: 0.5, max_cooldown_s: 2 },
        jobs: { sweep_interval_ms: 100 },
      }),
    );
  });
  afterEach(async () => {
    await gateway.close();
    await Promise.all([a.close(), b.close()]);
  });
  afterAll(() => undefined);

  it('outage: A returns 500s, 200 jobs on [A, B] all succeed on B; A is open and paused; the probe closes it when A heals', async () => {
    a.setReply(down);
    const api = client(gateway.url);
    const submitted = await Promise.all(
      Array.from({ length: 200 }, (_, index) => api.post('/v1/jobs', { model: 'default', messages: userMessage(`job ${index}`) })),
    );
    expect(submitted.every((reply) => reply.status === 202)).toBe(true);

    // While A is down its circuit is open (or probing) and its queue paused.
    const during = await eventually(async () => {
      const view = await providerView(api, 'a');
      return view.circuit.state !== 'closed' && view.paused ? view : undefined;
    }, 10_000, 'A open and paused');
    expect(during.error_ratio).toBeGreaterThanOrEqual(0.5);

    const jobs = await Promise.all(submitted.map((reply) => api.waitForJob(reply.body.id, undefined, 30_000)));
    expect(jobs.filter((job) => job.status !== 'succeeded').map((job) => [job.status, job.error])).toEqual([]);
    expect(new Set(jobs.map((job) => job.provider))).toEqual(new Set(['b']));
    // Jobs that had started on A say why they moved; the rest were routed or moved off the open circuit.
    const failedOver = jobs.filter((job) => job.routing.failovers.length > 0);
    expect(failedOver.length).toBeGreaterThan(0);
    for (const job of failedOver) {
      expect(job.routing.failovers[0]).toMatchObject({ from: 'a', to: 'b', reason: expect.stringMatching(/^(circuit_open|retries_exhausted)$/) });
    }
    // A saw only the failures that opened its circuit (plus in-flight ones), not 200 × 3 attempts.
    const aCalls = a.requests.filter((request) => request.method === 'POST').length;
    expect(aCalls).toBeLessThan(40);
    expect((await providerView(api, 'a')).circuit.state).not.toBe('closed');

    // A heals: the next probe closes the circuit, the queue resumes, new jobs go to A again.
    a.setReply(healthy);
    await eventually(async () => {
      const view = await providerView(api, 'a');
      return view.circuit.state === 'closed' && !view.paused;
    }, 10_000, 'A closed by the probe');
    await eventually(() => gateway.logs.some((line) => line.includes('circuit closed')), 5_000, 'circuit closed log line');
    const after = await api.post('/v1/jobs', { model: 'default', messages: userMessage('after recovery') });
    const job = await api.waitForJob(after.body.id);
    expect(job).toMatchObject({ status: 'succeeded', provider: 'a' });
    expect(job.routing.candidates[0]).toMatchObject({ provider: 'a', eligible: true, reason: null });
  }, 60_000);

  it('all targets down: jobs stay queued, not failed, until one recovers; a job past its deadline expires', async () => {
    a.setReply(down);
    b.setReply(down);
    const api = client(gateway.url);
    const ids: string[] = [];
    for (let index = 0; index < 6; index += 1) {
      ids.push((await api.post('/v1/jobs', { model: 'default', messages: userMessage(`waiting ${index}`) })).body.id);
    }
    await eventually(async () => {
      const [viewA, viewB] = await Promise.all([providerView(api, 'a'), providerView(api, 'b')]);
      return viewA.circuit.state !== 'closed' && viewB.circuit.state !== 'closed';
    }, 10_000, 'both circuits open');
    // The API caches circuit states for 250 ms per process (no Redis read per submit); let it catch up.
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Submitted while everything is down: accepted, and says why no target was taken.
    const late = await api.post('/v1/jobs', { model: 'default', messages: userMessage('late'), deadline_s: 2 });
    expect(late.status).toBe(202);
    expect(late.body.routing.candidates.map((candidate: { reason: string | null }) => candidate.reason)).toEqual(['circuit_open', 'circuit_open']);

    const expired = await api.waitForJob(late.body.id, undefined, 10_000);
    expect(expired).toMatchObject({ status: 'expired', error: { code: 'deadline_exceeded' } });
    for (const id of ids) expect((await api.get(`/v1/jobs/${id}`)).body.status).toBe('queued');

    b.setReply(healthy);
    const jobs: JobObject[] = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 20_000)));
    expect(jobs.map((job) => job.status)).toEqual(Array(6).fill('succeeded'));
    expect(new Set(jobs.map((job) => job.provider))).toEqual(new Set(['b']));
  }, 60_000);

  it('a 401 opens the circuit at once and fails the job over', async () => {
    a.setReply(() => ({ status: 401, body: { error: { message: 'Incorrect API key provided' } } }));
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('bad key upstream') });
    const job = await api.waitForJob(submitted.body.id);
    expect(job).toMatchObject({ status: 'succeeded', provider: 'b' });
    expect(job.routing.failovers).toEqual([expect.objectContaining({ from: 'a', to: 'b', reason: 'auth_error' })]);
    const view = await providerView(api, 'a');
    expect(view.circuit).toMatchObject({ reason: 'auth_error' });
    expect(view.circuit.state).not.toBe('closed');
  });

  it('a flex tier out of capacity (429 Resource Unavailable) is retried on the same target, neither opening the circuit nor pausing the queue', async () => {
    // Counted, two failures in three calls would open A's circuit (min_requests 3, failure_ratio 0.5).
    a.script(FLEX_UNAVAILABLE_REPLY, FLEX_UNAVAILABLE_REPLY);
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('flex'), service_tier: 'flex' });
    const job = await api.waitForJob(submitted.body.id);
    expect(job).toMatchObject({ status: 'succeeded', provider: 'a' });
    expect(job.attempts.map((attempt) => [attempt.outcome, attempt.status_code])).toEqual([['retryable_error', 429], ['retryable_error', 429], ['succeeded', 200]]);
    expect(job.attempts[0]?.error).toMatch(/Resource Unavailable/);
    expect(a.requests.map((request) => (request.body as { service_tier?: string }).service_tier)).toEqual(['flex', 'flex', 'flex']);
    const view = await providerView(api, 'a');
    expect(view).toMatchObject({ circuit: { state: 'closed' }, paused: false, error_ratio: 0 });
  });
});
