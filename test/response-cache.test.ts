import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { echoCompletion, startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const PRICING = { 'p/gpt-test': { input: 1, output: 2 } };
/** What one echo answer of the fake (9 prompt, 12 completion tokens) costs at PRICING. */
const ECHO_COST = (9 * 1 + 12 * 2) / 1_000_000;

/** Provider calls the fake has seen. */
const calls = (fake: FakeOpenAIServer): number => fake.requests.filter((request) => request.method === 'POST').length;

/** The tenant's usage totals over every provider and model. */
async function usageOf(url: string, key: string): Promise<{ requests: number; cost_usd: number; saved_usd: number }> {
  const rows = (await client(url, key).get('/v1/usage?group_by=tenant')).body.data as { requests: number; cost_usd: number; saved_usd: number }[];
  return rows[0] ?? { requests: 0, cost_usd: 0, saved_usd: 0 };
}

describe('response cache', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 4 } },
        routes: { default: ['p/gpt-test'], cached: { targets: ['p/gpt-test'], cache_ttl_s: 60 } },
        pricing: PRICING,
        server: { host: '127.0.0.1', port: 0, sync_timeout_s: 5 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  /** Submits a job and waits for its end; a hit has ended already when the submit answers. */
  const run = async (body: Record<string, unknown>, key: string = KEYS.acme) => {
    const api = client(gateway.url, key);
    const submitted = await api.post('/v1/jobs', body);
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    return submitted.body.status === 'succeeded' ? submitted.body : api.waitForJob(submitted.body.id);
  };

  it('answers an identical second request from the cache: no provider call, cost 0, the first cost saved', async () => {
    const body = { model: 'default', messages: userMessage('cache me'), temperature: 0, cache: { ttl_s: 60 } };
    const first = await run(body);
    expect(first).toMatchObject({ status: 'succeeded', cache: { hit: false }, cost_usd: expect.closeTo(ECHO_COST, 12) });
    const before = { calls: calls(fake), usage: await usageOf(gateway.url, KEYS.acme) };
    // Sluice's own fields are not part of the key: another priority, tier or metadata still hits.
    const submitted = await client(gateway.url).post('/v1/jobs', { ...body, priority: 'low', tier: 'premium', metadata: { run: '2' } });
    expect(submitted.status).toBe(202);
    const hit = submitted.body;
    expect(hit).toMatchObject({
      status: 'succeeded', provider: 'p', provider_model: 'gpt-test', cost_usd: 0, usage: first.usage, attempts: [],
      result: { object: 'chat.completion', choices: [{ message: { content: 'fake: cache me' }, finish_reason: 'stop' }] },
      cost_details: { reason: null, saved_usd: expect.closeTo(ECHO_COST, 12) },
      cache: { hit: true, key_age_s: expect.any(Number) },
    });
    expect(hit.id).not.toBe(first.id);
    expect(calls(fake)).toBe(before.calls);
    expect((await client(gateway.url).get(`/v1/jobs/${hit.id}`)).body).toMatchObject({ status: 'succeeded', cache: { hit: true } });
    // Usage counts the request at cost 0 with the first job's cost as saved.
    const after = await usageOf(gateway.url, KEYS.acme);
    expect(after.requests).toBe(before.usage.requests + 1);
    expect(after.cost_usd).toBeCloseTo(before.usage.cost_usd, 12);
    expect(after.saved_usd).toBeCloseTo(before.usage.saved_usd + ECHO_COST, 12);
    expect(gateway.logs.some((line) => line.includes('"cache":"hit"'))).toBe(true);
    expect(gateway.logs.some((line) => line.includes('"cache":"miss"'))).toBe(true);
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
    expect(metrics).toMatch(/sluice_cache_lookups_total\{outcome="hit"\} [1-9]/);
    const saved = /^sluice_saved_usd_total\{provider="p",model="gpt-test",tenant="acme",mode="cache"\} (\S+)$/m.exec(metrics);
    expect(Number(saved?.[1])).toBeGreaterThanOrEqual(ECHO_COST);
  });

  it('a job that does not ask for caching shows cache null and is neither looked up nor stored', async () => {
    const body = { model: 'default', messages: userMessage('no cache') };
    expect((await run(body)).cache).toBeNull();
    const before = calls(fake);
    expect((await run({ ...body, cache: { ttl_s: 60 } })).cache).toEqual({ hit: false });
    expect(calls(fake)).toBe(before + 1);
  });

  it("another tenant's identical request misses", async () => {
    const body = { model: 'default', messages: userMessage('mine only'), cache: { ttl_s: 60 } };
    await run(body);
    const before = calls(fake);
    const theirs = await run(body, KEYS.globex);
    expect(theirs.cache).toEqual({ hit: false });
    expect(theirs.cost_usd).toBeCloseTo(ECHO_COST, 12);
    expect(calls(fake)).toBe(before + 1);
  });

  it('different parameters, messages, model or fallbacks miss; the key order of parameters does not matter', async () => {
    const format = { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } } } } };
    const body = { model: 'default', messages: userMessage('params'), temperature: 0.5, top_p: 0.9, response_format: format, cache: { ttl_s: 60 } };
    await run(body);
    let before = calls(fake);
    const reordered = {
      cache: { ttl_s: 60 }, response_format: { json_schema: { schema: { properties: { a: { type: 'string' } }, type: 'object' }, strict: true, name: 'answer' }, type: 'json_schema' },
      top_p: 0.9, temperature: 0.5, messages: userMessage('params'), model: 'default',
    };
    expect((await run(reordered)).cache).toMatchObject({ hit: true });
    expect(calls(fake)).toBe(before);
    for (const changed of [{ ...body, temperature: 0.6 }, { ...body, messages: userMessage('params!') }, { ...body, model: 'p/gpt-test' }, { ...body, fallbacks: ['p/other'] }]) {
      before = calls(fake);
      expect((await run(changed)).cache).toEqual({ hit: false });
      expect(calls(fake)).toBe(before + 1);
    }
  });

  it('an entry lapses after its ttl_s', async () => {
    const body = { model: 'default', messages: userMessage('short-lived'), cache: { ttl_s: 1 } };
    await run(body);
    expect((await run(body)).cache).toMatchObject({ hit: true });
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const before = calls(fake);
    expect((await run(body)).cache).toEqual({ hit: false });
    expect(calls(fake)).toBe(before + 1);
  });

  it('an answer cut by a content filter is not stored', async () => {
    fake.script({ body: { ...echoCompletion({ body: { model: 'gpt-test' }, receivedAt: Date.now() } as never), choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'content_filter' }] } });
    const body = { model: 'default', messages: userMessage('filtered'), cache: { ttl_s: 60 } };
    const first = await run(body);
    expect(first.result.choices[0].finish_reason).toBe('content_filter');
    const before = calls(fake);
    const second = await run(body);
    expect(second.cache).toEqual({ hit: false });
    expect(second.result.choices[0].finish_reason).toBe('stop');
    expect(calls(fake)).toBe(before + 1);
  });

  it("a route's cache_ttl_s caches without the request field; a request's ttl_s 0 turns it off", async () => {
    const body = { model: 'cached', messages: userMessage('by route') };
    expect((await run(body)).cache).toEqual({ hit: false });
    const before = calls(fake);
    expect((await run(body)).cache).toMatchObject({ hit: true });
    expect(calls(fake)).toBe(before);
    const off = await run({ ...body, cache: { ttl_s: 0 } });
    expect(off.cache).toBeNull();
    expect(calls(fake)).toBe(before + 1);
    // The bounds of ttl_s are checked like any field.
    const bad = await client(gateway.url).post('/v1/jobs', { ...body, cache: { ttl_s: 30 * 86_400 + 1 } });
    expect(bad.status).toBe(400);
    expect(bad.body.error.param).toBe('cache.ttl_s');
  });

  it("a batch line's body may ask for caching: a hit ends its child at once and counts as completed", async () => {
    const body = { model: 'default', messages: userMessage('batched'), cache: { ttl_s: 60 } };
    await run(body);
    const before = calls(fake);
    const api = client(gateway.url);
    const created = await api.post('/v1/batches', { requests: [{ custom_id: 'hit', body }, { custom_id: 'miss', body: { ...body, messages: userMessage('batched 2') } }] });
    expect(created.status).toBe(200);
    const batch = await eventually(async () => {
      const current = (await api.get(`/v1/batches/${created.body.id}`)).body;
      return current.status === 'completed' ? current : undefined;
    }, 30_000, 'batch completed');
    expect(batch.request_counts).toEqual({ total: 2, completed: 2, failed: 0 });
    expect(calls(fake)).toBe(before + 1);
    const output = await fetch(`${gateway.url}/v1/files/${batch.output_file_id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    const lines = (await output.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.find((line) => line.custom_id === 'hit').response.body.choices[0].message.content).toBe('fake: batched');
  });

  it('a client repeating a request the moment it has its answer finds it in the cache (stored before the end is announced)', async () => {
    const api = client(gateway.url);
    const before = calls(fake);
    for (let round = 0; round < 25; round += 1) {
      const body = { model: 'default', messages: userMessage(`repeat at once ${round}`), cache: { ttl_s: 60 } };
      const first = await api.post('/v1/chat/completions', body);
      expect(first.status).toBe(200);
      const again = await api.post('/v1/chat/completions', body);
      expect(again.status).toBe(200);
      expect(again.headers.get('x-sluice-cost-usd'), `round ${round}: the repeat was not a hit`).toBe('0');
    }
    expect(calls(fake)).toBe(before + 25);
  });

  it('POST /v1/chat/completions answers a hit at once, with no worker running', async () => {
    const body = { model: 'default', messages: userMessage('sync cached'), cache: { ttl_s: 60 } };
    const api = client(gateway.url);
    const first = await api.post('/v1/chat/completions', body);
    expect(first.status).toBe(200);
    await gateway.worker?.close(2_000);
    gateway.worker = null;
    const before = calls(fake);
    const started = Date.now();
    const second = await api.post('/v1/chat/completions', body);
    expect(second.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(4_000); // a miss would wait for server.sync_timeout_s (5 s)
    expect(second.body).toMatchObject({ object: 'chat.completion', choices: [{ message: { content: 'fake: sync cached' } }] });
    expect(second.headers.get('x-sluice-cost-usd')).toBe('0');
    expect(second.headers.get('x-sluice-provider')).toBe('p');
    const job = (await api.get(`/v1/jobs/${second.headers.get('x-sluice-job-id')}`)).body;
    expect(job).toMatchObject({ status: 'succeeded', cache: { hit: true }, priority: 'high' });
    expect(calls(fake)).toBe(before);
  });
});

describe('response cache bounds', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 4 } },
        routes: { default: ['p/gpt-test'] },
        pricing: PRICING,
        jobs: { max_cache_entries_per_tenant: 2 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('keeps at most max_cache_entries_per_tenant entries per tenant: the oldest go first', async () => {
    const api = client(gateway.url);
    const body = (text: string) => ({ model: 'default', messages: userMessage(text), cache: { ttl_s: 600 } });
    for (const text of ['a', 'b', 'c']) await api.waitForJob((await api.post('/v1/jobs', body(text))).body.id);
    const before = calls(fake);
    // c and b are kept; a, the oldest, went when c was stored.
    expect((await api.post('/v1/jobs', body('c'))).body.cache).toMatchObject({ hit: true });
    expect((await api.post('/v1/jobs', body('b'))).body.cache).toMatchObject({ hit: true });
    expect(calls(fake)).toBe(before);
    const again = await api.post('/v1/jobs', body('a'));
    expect(again.body.cache).toEqual({ hit: false });
    await api.waitForJob(again.body.id);
    expect(calls(fake)).toBe(before + 1);
    // Another tenant's entries are bounded on their own.
    const globex = client(gateway.url, KEYS.globex);
    await globex.waitForJob((await globex.post('/v1/jobs', body('g'))).body.id);
    expect((await globex.post('/v1/jobs', body('g'))).body.cache).toMatchObject({ hit: true });
    expect((await api.post('/v1/jobs', body('a'))).body.cache).toMatchObject({ hit: true });
  });
});
