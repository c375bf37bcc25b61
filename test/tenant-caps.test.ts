import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const MODEST = 'sk-test-modest-0011';
const LOWLY = 'sk-test-lowly-0012';

describe("a key's caps: max_priority", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        auth: {
          keys: [
            { key: KEYS.acme, tenant: 'acme' },
            { key: KEYS.admin, tenant: 'ops', role: 'admin' },
            { key: MODEST, tenant: 'modest', max_priority: 'normal' },
            { key: LOWLY, tenant: 'lowly', max_priority: 'low' },
          ],
        },
        providers: { mock: { type: 'mock', latency_ms: 0 } },
        routes: { default: ['mock/echo'] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('POST /v1/jobs: a priority above the cap is a 400 naming it; a default above it is lowered to it', async () => {
    const modest = client(gateway.url, MODEST);
    const refused = await modest.post('/v1/jobs', { model: 'default', messages: userMessage('urgent'), priority: 'high' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'priority_not_allowed', param: 'priority' });
    expect(refused.body.error.message).toBe("priority high is above this key's max_priority normal");
    expect(refused.headers.get('retry-after')).toBeNull();

    const asked = await modest.post('/v1/jobs', { model: 'default', messages: userMessage('at the cap'), priority: 'normal' });
    expect(asked).toMatchObject({ status: 202, body: { priority: 'normal' } });
    const below = await modest.post('/v1/jobs', { model: 'default', messages: userMessage('below the cap'), priority: 'low' });
    expect(below).toMatchObject({ status: 202, body: { priority: 'low' } });

    const lowly = client(gateway.url, LOWLY);
    // The jobs default (normal) is above this key's cap: lowered, not refused.
    const defaulted = await lowly.post('/v1/jobs', { model: 'default', messages: userMessage('no priority named') });
    expect(defaulted).toMatchObject({ status: 202, body: { priority: 'low' } });
    expect((await lowly.waitForJob(defaulted.body.id)).status).toBe('succeeded');
    expect((await lowly.post('/v1/jobs', { model: 'default', messages: userMessage('x'), priority: 'normal' })).body.error.message).toBe("priority normal is above this key's max_priority low");

    // A key without a cap may ask for anything.
    expect((await client(gateway.url).post('/v1/jobs', { model: 'default', messages: userMessage('x'), priority: 'high' })).body.priority).toBe('high');
  });

  it('chat completions: its default high is lowered to the cap, a priority named above it is refused, streamed or not', async () => {
    const chat = (key: string, body: Record<string, unknown>) =>
      fetch(`${gateway.url}/v1/chat/completions`, {
        method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'default', messages: userMessage('hello'), ...body }),
      });
    const priorityOf = async (response: Response, key: string): Promise<string> => {
      const id = response.headers.get('x-sluice-job-id') ?? '';
      return (await client(gateway.url, key).get(`/v1/jobs/${id}`)).body.priority as string;
    };

    const uncapped = await chat(KEYS.acme, {});
    expect(uncapped.status).toBe(200);
    expect(await priorityOf(uncapped, KEYS.acme)).toBe('high');

    const sync = await chat(MODEST, {});
    expect(sync.status).toBe(200);
    expect(await priorityOf(sync, MODEST)).toBe('normal');
    const lowered = await chat(LOWLY, {});
    expect(lowered.status).toBe(200);
    expect(await priorityOf(lowered, LOWLY)).toBe('low');

    const refused = await chat(MODEST, { priority: 'high' });
    expect(refused.status).toBe(400);
    expect(((await refused.json()) as any).error).toMatchObject({ code: 'priority_not_allowed', param: 'priority', message: "priority high is above this key's max_priority normal" });

    const streamed = await chat(MODEST, { stream: true });
    expect(streamed.headers.get('content-type')).toContain('text/event-stream');
    expect((await streamed.text()).trimEnd().endsWith('data: [DONE]')).toBe(true);
    expect(await priorityOf(streamed, MODEST)).toBe('normal');
    const streamRefused = await chat(MODEST, { stream: true, priority: 'high' });
    expect(streamRefused.status).toBe(400);
    expect(streamRefused.headers.get('content-type')).toContain('application/json');
    expect(((await streamRefused.json()) as any).error.code).toBe('priority_not_allowed');
  });

  it("batches: a priority (default low) capped like a job's; children take it, and a line asking for more is lowered to it", async () => {
    const api = client(gateway.url);
    const line = (id: string, priority?: string) => ({ custom_id: id, body: { model: 'default', messages: userMessage(id), ...(priority === undefined ? {} : { priority }) } });
    /** Each child's priority by custom_id, read from its job record once the batch completes. */
    const childPriorities = async (batchId: string, key: string = KEYS.acme): Promise<Record<string, string>> => {
      const owner = client(gateway.url, key);
      const batch = await eventually(async () => {
        const reply = (await owner.get(`/v1/batches/${batchId}`)).body;
        return reply.status === 'completed' ? reply : undefined;
      }, 15_000, 'batch completed');
      const output = await fetch(`${gateway.url}/v1/files/${batch.output_file_id}/content`, { headers: { authorization: `Bearer ${key}` } });
      const lines = (await output.text()).trim().split('\n').map((text) => JSON.parse(text) as { custom_id: string; response: { request_id: string } });
      const jobs = await Promise.all(lines.map(async (entry) => [entry.custom_id, (await owner.get(`/v1/jobs/${entry.response.request_id}`)).body.priority as string] as const));
      return Object.fromEntries(jobs);
    };

    const normal = await api.post('/v1/batches', { priority: 'normal', requests: [line('asks-high', 'high'), line('asks-nothing'), line('asks-low', 'low')] });
    expect(normal).toMatchObject({ status: 200, body: { priority: 'normal' } });
    expect((await api.get(`/v1/batches/${normal.body.id}`)).body.priority).toBe('normal');
    expect(await childPriorities(normal.body.id)).toEqual({ 'asks-high': 'normal', 'asks-nothing': 'normal', 'asks-low': 'low' });

    const defaulted = await api.post('/v1/batches', { requests: [line('asks-high', 'high'), line('asks-normal', 'normal')] });
    expect(defaulted.body.priority).toBe('low');
    expect(await childPriorities(defaulted.body.id)).toEqual({ 'asks-high': 'low', 'asks-normal': 'low' });

    const modest = client(gateway.url, MODEST);
    const refused = await modest.post('/v1/batches', { priority: 'high', requests: [line('a')] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'priority_not_allowed', param: 'priority', message: "priority high is above this key's max_priority normal" });
    expect((await modest.post('/v1/batches', { priority: 'normal', requests: [line('a', 'high')] })).body.priority).toBe('normal');
    // The batch default (low) is within every cap.
    const lowly = await client(gateway.url, LOWLY).post('/v1/batches', { requests: [line('a', 'high')] });
    expect(lowly).toMatchObject({ status: 200, body: { priority: 'low' } });
    expect(await childPriorities(lowly.body.id, LOWLY)).toEqual({ a: 'low' });
  });
});

const CAPPED = 'sk-test-capped-0013';

describe("a key's caps: max_queued_jobs", () => {
  let gateway: Gateway;
  let second: Gateway;
  beforeAll(async () => {
    const config = makeConfig({
      auth: {
        keys: [
          { key: KEYS.acme, tenant: 'acme' },
          { key: KEYS.admin, tenant: 'ops', role: 'admin' },
          { key: CAPPED, tenant: 'capped', max_queued_jobs: 3 },
        ],
      },
      providers: { mock: { type: 'mock', latency_ms: 0 }, slow: { type: 'mock', latency_ms: 1_000, concurrency: 8 }, glacial: { type: 'mock', latency_ms: 30_000, concurrency: 1 } },
      routes: { default: ['mock/echo'], slow: ['slow/echo'], glacial: ['glacial/echo'] },
    });
    gateway = await startGateway(config);
    second = await startGateway(config, { worker: false });
  });
  afterAll(async () => {
    await second.api?.close();
    await gateway.close();
  });

  it('holds exactly across two API processes under concurrency: 429 naming the limit, with Retry-After; a place frees as a job ends', async () => {
    const apis = [client(gateway.url, CAPPED), client(second.url, CAPPED)];
    // Answered from the response cache later, at the cap: a hit never waits, so it takes no place.
    const cachedBody = { model: 'default', messages: userMessage('cached'), cache: { ttl_s: 600 } };
    expect((await apis[0]!.waitForJob((await apis[0]!.post('/v1/jobs', cachedBody)).body.id)).status).toBe('succeeded');

    const replies = await Promise.all(Array.from({ length: 24 }, (_, index) => apis[index % 2]!.post('/v1/jobs', { model: 'glacial', messages: userMessage(`hold ${index}`) })));
    const accepted = replies.filter((reply) => reply.status === 202);
    const refused = replies.filter((reply) => reply.status === 429);
    expect(accepted).toHaveLength(3);
    expect(refused).toHaveLength(21);
    expect(refused[0]!.body.error).toMatchObject({ type: 'rate_limit_error', code: 'max_queued_jobs_exceeded', message: 'max_queued_jobs of 3 reached: tenant capped has 3 jobs queued or running; retry when one ends' });
    expect(refused.every((reply) => reply.headers.get('retry-after') === '1')).toBe(true);
    const counts = (await gateway.api!.deps.tenantJobs.counts(['capped'])).get('capped')!;
    expect(counts.queued + counts.running).toBe(3);

    // Every way in is capped: a synchronous or streamed chat completion too. A cache hit is not.
    const chat = await fetch(`${second.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${CAPPED}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'default', messages: userMessage('sync'), stream: true }),
    });
    expect(chat.status).toBe(429);
    expect(((await chat.json()) as any).error.code).toBe('max_queued_jobs_exceeded');
    expect((await apis[1]!.post('/v1/jobs', cachedBody)).body).toMatchObject({ status: 'succeeded', cache: { hit: true } });
    // Another tenant is not held by this one's cap.
    expect((await client(gateway.url).post('/v1/jobs', { model: 'default', messages: userMessage('free') })).status).toBe(202);

    // Ending one (a cancel; a success or failure alike) frees one place, and only one.
    const [first, ...rest] = accepted.map((reply) => reply.body.id as string);
    expect((await apis[0]!.post(`/v1/jobs/${first}/cancel`)).status).toBe(200);
    const again = await Promise.all([apis[0]!.post('/v1/jobs', { model: 'glacial', messages: userMessage('after') }), apis[1]!.post('/v1/jobs', { model: 'glacial', messages: userMessage('after') })]);
    expect(again.map((reply) => reply.status).sort()).toEqual([202, 429]);
    for (const id of [...rest, ...again.filter((reply) => reply.status === 202).map((reply) => reply.body.id as string)]) await apis[0]!.post(`/v1/jobs/${id}/cancel`);
    expect((await gateway.api!.deps.tenantJobs.counts(['capped'])).get('capped')).toEqual({ queued: 0, running: 0 });
    const done = await Promise.all(Array.from({ length: 3 }, async (_, index) => apis[0]!.waitForJob((await apis[0]!.post('/v1/jobs', { model: 'default', messages: userMessage(`after ${index}`) })).body.id)));
    expect(done.map((job) => job.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect((await apis[1]!.post('/v1/jobs', { model: 'default', messages: userMessage('room again') })).status).toBe(202);
  });

  it('a batch whose children reach the cap waits and resumes where it stopped: every line runs once, none fails for it', async () => {
    const api = client(gateway.url, CAPPED);
    const requests = Array.from({ length: 12 }, (_, index) => ({
      custom_id: `line-${index}`,
      // One bad line among them fails alone, once, however often the expansion stops around it.
      body: index === 7 ? { model: 'slow', messages: userMessage('bad'), temperature: 'hot' } : { model: 'slow', messages: userMessage(`line ${index}`) },
    }));
    const created = await api.post('/v1/batches', { requests });
    expect(created.status).toBe(200);
    let most = 0;
    let refusedMeanwhile = false;
    const batch = await eventually(async () => {
      const counts = (await gateway.api!.deps.tenantJobs.counts(['capped'])).get('capped')!;
      most = Math.max(most, counts.queued + counts.running);
      // The children hold the tenant's places: its own requests wait for them like any other job.
      if (!refusedMeanwhile && counts.queued + counts.running === 3) {
        refusedMeanwhile = (await api.post('/v1/jobs', { model: 'default', messages: userMessage('squeeze in') })).status === 429;
      }
      const reply = (await api.get(`/v1/batches/${created.body.id}`)).body;
      return reply.status === 'completed' ? reply : undefined;
    }, 40_000, 'batch completed');
    expect(batch.request_counts).toEqual({ total: 12, completed: 11, failed: 1 });
    expect(most).toBe(3);
    expect(refusedMeanwhile).toBe(true);
    expect(gateway.logs.some((line) => line.includes("batch expansion waits for room under the tenant's max_queued_jobs") && line.includes(created.body.id))).toBe(true);
    const read = async (id: string) => (await (await fetch(`${gateway.url}/v1/files/${id}/content`, { headers: { authorization: `Bearer ${CAPPED}` } })).text()).trim().split('\n').map((line) => JSON.parse(line));
    const outputs = await read(batch.output_file_id);
    expect(outputs.map((line) => line.custom_id).sort()).toEqual(requests.map((request) => request.custom_id).filter((id) => id !== 'line-7').sort());
    expect((await read(batch.error_file_id)).map((line) => [line.custom_id, line.error.code])).toEqual([['line-7', 'invalid_request']]);
    expect((await gateway.api!.deps.tenantJobs.counts(['capped'])).get('capped')).toEqual({ queued: 0, running: 0 });
  }, 60_000);
});
