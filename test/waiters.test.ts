import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { lastUserText, startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startRedisServer, type TestRedis } from './harness/redis-server.ts';

describe('waiters: woken by pub/sub, one safety read per job, and bounded per tenant', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  let redisServer: TestRedis;
  let stats: Redis;
  /** HGETALL calls the server has run (a job record read whole). */
  const readsOfRecords = async (): Promise<number> => Number(/cmdstat_hgetall:calls=(\d+)/.exec(await stats.info('commandstats'))?.[1] ?? 0);
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    redisServer = await startRedisServer();
    stats = new Redis(redisServer.url);
    gateway = await startGateway(
      makeConfig({
        redis: { url: redisServer.url },
        server: { host: '127.0.0.1', port: 0, max_waiters_per_tenant: 25 },
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 4 } },
        routes: { default: ['p/m'] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    stats.disconnect();
    await redisServer.stop();
    await fake.close();
  });

  it('20 long-polls on one job are woken by its end, with no reads of the record while they wait', async () => {
    fake.script({ delayMs: 3_000 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('watched') });
    const waits = Array.from({ length: 20 }, () => api.get(`/v1/jobs/${submitted.body.id}?wait=30`));
    await eventually(() => gateway.api?.deps.waiters.inUse('acme') === 20, 5_000, '20 waits open');
    // This file's Redis serves this gateway alone: count the record reads while they wait. Before,
    // every waiter re-read the whole record every 2 s (20 here, each 2 s).
    const before = await readsOfRecords();
    await new Promise((resolve) => setTimeout(resolve, 2_300));
    const during = (await readsOfRecords()) - before;
    const replies = await Promise.all(waits);
    expect(replies.map((reply) => reply.body.status)).toEqual(Array(20).fill('succeeded'));
    expect(during).toBeLessThan(5);
  });

  it('10 event streams on one job share one read of the record per status change', async () => {
    fake.script(...Array(4).fill({ delayMs: 1_500 }), { delayMs: 500 });
    const api = client(gateway.url);
    // Four jobs fill the provider's four slots, so the fifth waits queued while its streams open.
    for (let index = 0; index < 4; index += 1) await api.post('/v1/jobs', { model: 'default', messages: userMessage(`filler ${index}`) });
    await fake.waitForRequests(4);
    const watched = await api.post('/v1/jobs', { model: 'default', messages: userMessage('streamed') });
    const streams = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const response = await fetch(`${gateway.url}/v1/jobs/${watched.body.id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
        const reader = response.body!.getReader();
        await reader.read(); // the first event: queued
        return reader;
      }),
    );
    await eventually(() => gateway.api?.deps.waiters.inUse('acme') === 10, 5_000, 'streams open');
    const before = await readsOfRecords();
    const ends = await Promise.all(
      streams.map(async (reader) => {
        let text = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return text;
          text += new TextDecoder().decode(value);
        }
      }),
    );
    for (const text of ends) expect(text).toContain('"status":"succeeded"');
    // running: one read for all ten streams; succeeded: the record comes with the news. The rest is
    // the worker picking the job up (its read, BullMQ's): about 4 in all, where a read per stream
    // would add ten.
    expect((await readsOfRecords()) - before).toBeLessThanOrEqual(6);
  });

  it('past server.max_waiters_per_tenant a tenant gets 429 too_many_waiters; another tenant still waits; slots come back', async () => {
    // The slow job's call is held until the test has checked everything while it runs: no timer to race.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    fake.setReply(async (request) => {
      if (lastUserText(request) === 'slow') await released;
      return {};
    });
    const acme = client(gateway.url);
    const slow = await acme.post('/v1/jobs', { model: 'default', messages: userMessage('slow') });
    let holds: Promise<unknown>[] = [];
    try {
      holds = Array.from({ length: 25 }, (_, index) => (index % 2 === 0 ? acme.get(`/v1/jobs/${slow.body.id}?wait=30`) : acme.get(`/v1/jobs/${slow.body.id}/events`)));
      await eventually(() => gateway.api?.deps.waiters.inUse('acme') === 25, 5_000, '25 waits open');
      const refused = await acme.get(`/v1/jobs/${slow.body.id}?wait=30`);
      expect(refused.status).toBe(429);
      expect(refused.body.error).toMatchObject({ code: 'too_many_waiters', type: 'rate_limit_error' });
      expect(refused.body.error.message).toContain('server.max_waiters_per_tenant');
      expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await acme.post('/v1/chat/completions', { model: 'default', messages: userMessage('sync') })).status).toBe(429);
      // A wait of 0 is an ordinary read, never refused.
      expect((await acme.get(`/v1/jobs/${slow.body.id}`)).status).toBe(200);
      const globex = client(gateway.url, KEYS.globex);
      const theirs = await globex.post('/v1/chat/completions', { model: 'default', messages: userMessage('other tenant') });
      expect(theirs.status).toBe(200);
    } finally {
      // Released even when a check above fails, so the next test does not meet 25 held waits.
      release();
    }
    await Promise.all(holds);
    expect(gateway.api?.deps.waiters.inUse('acme')).toBe(0);
    expect((await acme.get(`/v1/jobs/${slow.body.id}?wait=1`)).status).toBe(200);
  });

  it('event streams closed by their client, even while subscribing, leave no timer, slot or subscription behind', async () => {
    fake.script({ delayMs: 2_000 });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('abandoned') });
    const timers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
    const before = timers();
    await Promise.all(
      Array.from({ length: 30 }, async (_, index) => {
        const controller = new AbortController();
        const reply = fetch(`${gateway.url}/v1/jobs/${submitted.body.id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}` }, signal: controller.signal });
        // Half leave at once (during the subscription), half after the first event.
        if (index % 2 === 0) controller.abort();
        else await reply.then((response) => response.body?.getReader().read());
        controller.abort();
        await reply.catch(() => undefined);
      }),
    );
    await eventually(() => gateway.api?.deps.waiters.inUse('acme') === 0, 5_000, 'every slot back');
    expect(timers()).toBeLessThanOrEqual(before + 3);
    await api.waitForJob(submitted.body.id);
  });
});

describe('a synchronous call whose subscription fails (the API shutting down)', () => {
  it('answers at once with the accepted job’s id to poll, and leaves no unhandled rejection to crash the process', async () => {
    const fake = await startFakeOpenAI();
    const gateway = await startGateway(makeConfig({ providers: { p: { type: 'openai-compatible', base_url: fake.url } }, routes: { default: ['p/m'] } }));
    try {
      await gateway.api?.deps.watcher.close(); // what shutdown does while requests may still be in flight
      const replies = await Promise.all(Array.from({ length: 5 }, () => client(gateway.url).post('/v1/chat/completions', { model: 'default', messages: userMessage('during shutdown') })));
      for (const reply of replies) {
        // The job was accepted (a retry would run it twice): the answer says where to find it.
        expect(reply.status).toBe(504);
        expect(reply.headers.get('x-sluice-job-id')).toMatch(/^job_/);
        expect(reply.body.error.message).toContain(`GET /v1/jobs/${reply.headers.get('x-sluice-job-id')}`);
      }
      // A long-poll without a subscription answers with the job as it is, within its wait.
      const id = replies[0]!.headers.get('x-sluice-job-id');
      const started = Date.now();
      const polled = await client(gateway.url).get(`/v1/jobs/${id}?wait=2`);
      expect(polled.status).toBe(200);
      expect(polled.body.id).toBe(id);
      expect(Date.now() - started).toBeLessThan(2_500);
      await new Promise((resolve) => setTimeout(resolve, 100)); // any stray rejection would surface by now
    } finally {
      await gateway.close();
      await fake.close();
    }
  });
});
