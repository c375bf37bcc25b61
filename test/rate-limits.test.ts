import { afterEach, describe, expect, inject, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, deletePrefix, makeConfig, startGateway, testPrefix, userMessage, type Gateway } from './harness/gateway.ts';
import { ENTRY, spawnSluice, writeConfigFile, type SluiceProcess } from './harness/processes.ts';

const running: SluiceProcess[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.kill('SIGKILL')));
  for (const close of closers.splice(0).reverse()) await close();
});

/** The most requests that arrived inside any window of `windowMs` starting at a request. */
function busiestWindow(times: number[], windowMs: number): number {
  const sorted = [...times].sort((x, y) => x - y);
  let most = 0;
  for (let start = 0; start < sorted.length; start += 1) {
    let end = start;
    while (end < sorted.length && (sorted[end] ?? Infinity) < (sorted[start] ?? 0) + windowMs) end += 1;
    most = Math.max(most, end - start);
  }
  return most;
}

describe('provider rate limits', () => {
  it('rpm holds in every sliding window across two worker processes', async () => {
    const fake = await startFakeOpenAI();
    closers.push(() => fake.close());
    const prefix = testPrefix();
    closers.push(() => deletePrefix(inject('redisUrl'), prefix));
    // rpm: 60 per 60 s, scaled down: 6 per 2 s.
    const provider = { type: 'openai-compatible', base_url: fake.url, concurrency: 8, rpm: 6, rate_window_s: 2 } as const;
    const tree = { providers: { p: provider }, routes: { default: ['p/m'] } };
    const file = writeConfigFile({ ...tree, redis: { url: inject('redisUrl'), prefix }, auth: { disabled: true }, log_level: 'info' });
    const workers = [spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file }), spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file })];
    running.push(...workers);
    const gateway = await startGateway(makeConfig(tree, prefix), { worker: false });
    closers.push(() => gateway.api!.close());
    const api = client(gateway.url);
    await Promise.all(workers.map((worker) => worker.waitForLog((line) => line.msg === 'worker pools started')));
    const ids = await Promise.all(Array.from({ length: 18 }, async (_, index) => (await api.post('/v1/jobs', { model: 'default', messages: userMessage(`r${index}`) })).body.id as string));
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 30_000)));
    expect(jobs.every((job) => job.status === 'succeeded')).toBe(true);
    const arrivals = fake.requests.filter((request) => request.method === 'POST').map((request) => request.receivedAt);
    expect(arrivals).toHaveLength(18);
    // Counted where the limiter counts (Redis, at dispatch); 300 ms covers the lag between dispatch and arrival on a loaded machine (a fixed-window limiter would still show up to 12).
    expect(busiestWindow(arrivals, 2000 - 300)).toBeLessThanOrEqual(6);
    // 18 requests at 6 per 2 s cannot finish in under 4 s: the limit was in force, not idle (less the
    // same 300 ms of lag, should the first arrive late and the last on time).
    expect(Math.max(...arrivals) - Math.min(...arrivals)).toBeGreaterThanOrEqual(4000 - 300);
    // The operator's view: the limit, what the window holds, and latency from the breaker's records.
    const view = (await api.get('/v1/providers')).body.data.find((entry: { id: string }) => entry.id === 'p');
    expect(view).toMatchObject({ circuit: { state: 'closed' }, paused: false, rate_limit: { rpm: 6, window_s: 2 } });
    expect(view.latency_ms.p50).toEqual(expect.any(Number));
    expect(view.requests_in_window).toBe(18);
    // Both processes served jobs: the limit is shared, not per process.
    for (const worker of workers) expect(worker.logs.filter((line) => line.msg === 'job finished').length).toBeGreaterThan(0);
  }, 60_000);

  it('a 429 storm with retry-after: no job fails, the pace follows retry-after, attempts are not spent', async () => {
    const fake: FakeOpenAIServer = await startFakeOpenAI();
    closers.push(() => fake.close());
    const tooMany = { status: 429, headers: { 'retry-after-ms': '300' }, body: { error: { message: 'Rate limit reached', type: 'requests' } } };
    fake.script(tooMany, tooMany, tooMany, tooMany, tooMany);
    const gateway: Gateway = await startGateway(
      makeConfig({
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 1, retry: { attempts: 1, backoff_ms: 10, max_backoff_ms: 10 } } },
        routes: { default: ['p/m'] },
      }),
    );
    closers.push(() => gateway.close());
    const api = client(gateway.url);
    const ids = await Promise.all(Array.from({ length: 4 }, async (_, index) => (await api.post('/v1/jobs', { model: 'default', messages: userMessage(`s${index}`) })).body.id as string));
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 20_000)));
    // One attempt allowed per target, five 429s: only possible if a 429 spends no attempt.
    expect(jobs.map((job) => job.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'succeeded']);
    const limited = jobs.flatMap((job) => job.attempts).filter((attempt) => attempt.outcome === 'rate_limited');
    expect(limited).toHaveLength(5);
    expect(limited.every((attempt) => attempt.status_code === 429)).toBe(true);
    const posts = fake.requests.filter((request) => request.method === 'POST');
    expect(posts).toHaveLength(9);
    // After each 429 the provider hears nothing for its retry-after (300 ms, minus timer slack).
    for (let index = 0; index < 5; index += 1) {
      const next = posts[index + 1];
      expect(next!.receivedAt - posts[index]!.receivedAt).toBeGreaterThanOrEqual(280);
    }
  }, 30_000);
});
