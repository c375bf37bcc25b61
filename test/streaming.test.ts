import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { openAIStream, startFakeProvider, type FakeProviderServer } from '@sluice/providers/testing';
import { Redis } from 'ioredis';
import { jobStreamKey, type JobObject } from '@sluice/engine';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

/** Every event of an SSE body, with its id and name. */
function sseEvents(text: string): { id?: string; event?: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.split('\n').some((line) => line.startsWith('data:')))
    .map((block) => {
      const event: { id?: string; event?: string; data: string } = { data: '' };
      for (const line of block.split('\n')) {
        if (line.startsWith('id: ')) event.id = line.slice(4);
        else if (line.startsWith('event: ')) event.event = line.slice(7);
        else if (line.startsWith('data: ')) event.data += line.slice(6);
      }
      return event;
    });
}

describe('streaming through the queue: stream: true on chat completions for every provider type', () => {
  let openaiFake: FakeProviderServer;
  let anthropicFake: FakeProviderServer;
  let geminiFake: FakeProviderServer;
  let backup: FakeProviderServer;
  let gateway: Gateway;
  let sdk: OpenAI;

  beforeAll(async () => {
    [openaiFake, anthropicFake, geminiFake, backup] = await Promise.all([startFakeProvider('openai'), startFakeProvider('anthropic'), startFakeProvider('gemini'), startFakeProvider('openai')]);
    gateway = await startGateway(
      makeConfig({
        providers: {
          openai: { type: 'openai', base_url: openaiFake.url, api_key: 'sk-openai-secret', retry: { attempts: 1 } },
          compat: { type: 'openai-compatible', base_url: openaiFake.url, retry: { attempts: 1 } },
          anthropic: { type: 'anthropic', base_url: anthropicFake.url, api_key: 'sk-ant-secret' },
          gemini: { type: 'gemini', base_url: geminiFake.url, api_key: 'gm-secret' },
          mock: { type: 'mock', latency_ms: 0 },
          backup: { type: 'openai-compatible', base_url: backup.url },
        },
        routes: {
          gpt: ['openai/gpt-4o-mini'],
          compat: ['compat/gpt-4o-mini'],
          claude: ['anthropic/claude-3-5-haiku-latest'],
          gem: ['gemini/gemini-2.0-flash'],
          mock: ['mock/echo'],
          failover: ['compat/gpt-4o-mini', 'backup/gpt-4o-mini'],
        },
        pricing: { 'compat/gpt-4o-mini': { input: 0.15, output: 0.6 }, 'backup/gpt-4o-mini': { input: 0.15, output: 0.6 }, 'mock/echo': { input: 0, output: 0 } },
        webhooks: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allow_private_networks: true },
      }),
    );
    sdk = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openaiFake, anthropicFake, geminiFake, backup].map((fake) => fake.close()));
  });

  const getJob = async (id: string): Promise<JobObject> => (await client(gateway.url).waitForJob(id)) as JobObject;

  for (const model of ['gpt', 'compat', 'claude', 'gem', 'mock']) {
    it(`${model}: the SDK iterates chunks whose joined text is the non-streamed answer; include_usage adds the usage chunk; the job's result is the assembled completion`, async () => {
      const whole = await sdk.chat.completions.create({ model, messages: [{ role: 'user', content: `stream me ${model}` }] });
      const { data: stream, response } = await sdk.chat.completions
        .create({ model, messages: [{ role: 'user', content: `stream me ${model}` }], stream: true, stream_options: { include_usage: true } })
        .withResponse();
      expect(response.headers.get('content-type')).toContain('text/event-stream');
      const jobId = response.headers.get('x-sluice-job-id') ?? '';
      expect(jobId).toMatch(/^job_/);
      expect(response.headers.get('x-sluice-provider')).toBe(model === 'gpt' ? 'openai' : model === 'claude' ? 'anthropic' : model === 'gem' ? 'gemini' : model);
      const chunks = [];
      for await (const chunk of stream) chunks.push(chunk);
      expect(chunks.length).toBeGreaterThan(2);
      const text = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('');
      expect(text).toBe(whole.choices[0]?.message.content);
      const last = chunks.at(-1);
      expect(last?.choices).toEqual([]);
      expect(last?.usage?.total_tokens).toBe(whole.usage?.total_tokens);
      const job = await getJob(jobId);
      expect(job).toMatchObject({ status: 'succeeded', priority: 'high', usage: whole.usage });
      expect(job.result?.choices[0]?.message.content).toBe(text);
      expect(job.cost_usd).toBe(model === 'mock' ? 0 : (await getJob(response.headers.get('x-sluice-job-id') ?? '')).cost_usd);
      if (model !== 'mock') expect(job.cost_usd).toBeGreaterThan(0);
    });
  }

  it('metrics show time to first token per provider and the streams open; the finished log line carries ttft_ms', async () => {
    const { data, response } = await sdk.chat.completions.create({ model: 'compat', messages: [{ role: 'user', content: 'measure me' }], stream: true }).withResponse();
    const jobId = response.headers.get('x-sluice-job-id') ?? '';
    for await (const _chunk of data) void _chunk;
    const metrics = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
    expect(metrics).toMatch(/sluice_provider_ttft_seconds_count\{provider="compat"\} [1-9]/);
    expect(metrics).toMatch(/sluice_streams_open\{side="client"\} 0/);
    const finished = await eventually(
      () => gateway.logs.map((line) => JSON.parse(line) as Record<string, unknown>).find((line) => line.job_id === jobId && line.msg === 'job finished'),
      5_000, 'job finished log line',
    );
    expect(finished.ttft_ms).toEqual(expect.any(Number));
  });

  it('without include_usage no usage chunk is sent; tool-call deltas arrive with their index and argument pieces', async () => {
    const plain = await sdk.chat.completions.create({ model: 'compat', messages: [{ role: 'user', content: 'no usage' }], stream: true });
    const chunks = [];
    for await (const chunk of plain) chunks.push(chunk);
    expect(chunks.every((chunk) => chunk.choices.length > 0)).toBe(true);

    openaiFake.script({ stream: openAIStream({ toolCall: { name: 'get_weather', arguments: '{"city":"Paris"}' } }) });
    const tools = await sdk.chat.completions.create({
      model: 'compat', messages: [{ role: 'user', content: 'weather?' }], stream: true,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }],
    });
    let args = '';
    let finish: string | null = null;
    for await (const chunk of tools) {
      for (const call of chunk.choices[0]?.delta.tool_calls ?? []) {
        expect(call.index).toBe(0);
        args += call.function?.arguments ?? '';
      }
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(args).toBe('{"city":"Paris"}');
    expect(finish).toBe('tool_calls');

    anthropicFake.streams.script({ text: '', toolCalls: [{ name: 'lookup', arguments: { q: 'x' } }] });
    const claude = await sdk.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'tool' }], stream: true });
    let claudeArgs = '';
    for await (const chunk of claude) for (const call of chunk.choices[0]?.delta.tool_calls ?? []) claudeArgs += call.function?.arguments ?? '';
    expect(JSON.parse(claudeArgs)).toEqual({ q: 'x' });
  });

  it('a provider failure after the first chunk makes the SDK throw; the job fails stream_interrupted with the partial text kept, no retry', async () => {
    const before = openaiFake.requests.length;
    openaiFake.script({ stream: openAIStream({ text: 'one two three four five six', errorAfter: 2 }) });
    const stream = await sdk.chat.completions.create({ model: 'compat', messages: [{ role: 'user', content: 'break mid-stream' }], stream: true }).withResponse();
    const jobId = stream.response.headers.get('x-sluice-job-id') ?? '';
    let received = '';
    const error = await (async () => {
      for await (const chunk of stream.data) received += chunk.choices[0]?.delta.content ?? '';
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(received.length).toBeGreaterThan(0);
    const job = await getJob(jobId);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'stream_interrupted' }, provider: 'compat' });
    expect(job.result?.choices[0]?.message.content).toBe(received);
    expect(job.cost_details?.reason).toContain('estimated');
    expect(openaiFake.requests.length - before).toBe(1); // no second call after the first chunk

    // A stream the provider cuts without its end is a failure too, never a success.
    openaiFake.script({ stream: openAIStream({ text: 'cut short here please', cutAfter: 2 }) });
    const cut = await sdk.chat.completions.create({ model: 'compat', messages: [{ role: 'user', content: 'cut' }], stream: true }).withResponse();
    const cutError = await (async () => {
      for await (const _chunk of cut.data) void _chunk;
    })().catch((caught: unknown) => caught);
    expect(cutError).toBeInstanceOf(OpenAI.APIError);
    expect(await getJob(cut.response.headers.get('x-sluice-job-id') ?? '')).toMatchObject({ status: 'failed', error: { code: 'stream_interrupted' } });
  });

  it('anthropic and gemini: an error event or a cut after the first chunk makes the SDK throw too, the job stream_interrupted', async () => {
    anthropicFake.streams.script({ text: 'one two three four five six', errorAfterDeltas: 2 });
    geminiFake.streams.script({ text: 'one two three four five six', cutAfterDeltas: 2 });
    for (const model of ['claude', 'gem']) {
      const { data, response } = await sdk.chat.completions.create({ model, messages: [{ role: 'user', content: `break ${model}` }], stream: true }).withResponse();
      let received = '';
      const error = await (async () => {
        for await (const chunk of data) received += chunk.choices[0]?.delta.content ?? '';
      })().catch((caught: unknown) => caught);
      expect(error, model).toBeInstanceOf(OpenAI.APIError);
      expect(received.length, model).toBeGreaterThan(0);
      const job = await getJob(response.headers.get('x-sluice-job-id') ?? '');
      expect(job, model).toMatchObject({ status: 'failed', error: { code: 'stream_interrupted' } });
      expect(job.result?.choices[0]?.message.content, model).toBe(received);
    }
  });

  it('failover before the first chunk: A refuses, B streams, the client sees one clean stream', async () => {
    openaiFake.script({ status: 500, body: { error: { message: 'A is down' } } });
    const { data, response } = await sdk.chat.completions.create({ model: 'failover', messages: [{ role: 'user', content: 'fail over' }], stream: true }).withResponse();
    expect(response.headers.get('x-sluice-provider')).toBe('backup');
    const chunks = [];
    for await (const chunk of data) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('fake: fail over');
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
    const job = await getJob(response.headers.get('x-sluice-job-id') ?? '');
    expect(job.routing.failovers).toHaveLength(1);
    expect(job.attempts.map((attempt) => attempt.provider)).toEqual(['compat', 'backup']);
  });

  it('an Idempotency-Key replay of an ended streamed job streams the same answer from its record', async () => {
    const send = () => fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json', 'idempotency-key': 'stream-replay-1' },
      body: JSON.stringify({ model: 'compat', messages: userMessage('replay me'), stream: true }),
    });
    const text = (body: string) => sseEvents(body).filter((event) => event.data !== '[DONE]').map((event) => JSON.parse(event.data).choices[0]?.delta?.content ?? '').join('');
    const first = await send();
    expect(text(await first.text())).toBe('fake: replay me');
    const id = first.headers.get('x-sluice-job-id') ?? '';
    await getJob(id);
    const again = await send();
    expect(again.headers.get('x-sluice-job-id')).toBe(id);
    const body = await again.text();
    expect(text(body)).toBe('fake: replay me');
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const redis = new Redis(gateway.config.redis.url);
    await redis.del(jobStreamKey(gateway.config.redis.prefix, id)); // as if jobs.stream_retention_s had passed
    redis.disconnect();
    expect(text(await (await send()).text())).toBe('fake: replay me');
  });

  it('with the response cache on, a streamed request is stored, and a hit, streamed or not, answers from it at once', async () => {
    // `cache` is Sluice's own field: the SDK passes unknown body fields through.
    const cached = { cache: { ttl_s: 60 } } as Record<string, unknown>;
    const messages = [{ role: 'user' as const, content: 'cache my stream' }];
    const before = openaiFake.requests.length;
    const first = await sdk.chat.completions.create({ model: 'compat', messages, stream: true, ...cached }).withResponse();
    let firstText = '';
    for await (const chunk of first.data) firstText += chunk.choices[0]?.delta.content ?? '';
    await getJob(first.response.headers.get('x-sluice-job-id') ?? '');
    const hit = await sdk.chat.completions.create({ model: 'compat', messages, stream: true, stream_options: { include_usage: true }, ...cached }).withResponse();
    const chunks = [];
    for await (const chunk of hit.data) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe(firstText);
    expect(chunks.at(-1)?.usage?.total_tokens).toBeGreaterThan(0);
    const plain = await sdk.chat.completions.create({ model: 'compat', messages, ...cached });
    expect(plain.choices[0]?.message.content).toBe(firstText);
    expect(openaiFake.requests.length - before).toBe(1);
    expect(await getJob(hit.response.headers.get('x-sluice-job-id') ?? '')).toMatchObject({ status: 'succeeded', cache: { hit: true } });
    // An async hit has no output stream: its events are the succeeded job, answer included.
    const asyncHit = await client(gateway.url).post('/v1/jobs', { model: 'compat', messages, stream: true, ...cached });
    expect(asyncHit.body).toMatchObject({ status: 'succeeded', cache: { hit: true } });
    const events = sseEvents(await (await fetch(`${gateway.url}/v1/jobs/${asyncHit.body.id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}` } })).text());
    expect(events).toHaveLength(1);
    expect(JSON.parse(events[0]!.data).result.choices[0].message.content).toBe(firstText);
  });

  it('a failure before any chunk answers like a non-streamed call: status code and JSON error', async () => {
    openaiFake.script({ status: 400, body: { error: { message: 'Invalid value for top_p' } } });
    const error = await sdk.chat.completions.create({ model: 'compat', messages: [{ role: 'user', content: 'refused' }], stream: true }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).message).toContain('Invalid value for top_p');
  });

  it('the client disconnecting aborts the provider call and cancels the job; with a webhook the job runs on', async () => {
    openaiFake.script({ stream: openAIStream({ text: 'a b c d e f g h i j k l m n o p', intervalMs: 150 }) });
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', signal: controller.signal,
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'compat', messages: userMessage('leave early'), stream: true }),
    });
    const jobId = response.headers.get('x-sluice-job-id') ?? '';
    const reader = response.body!.getReader();
    await reader.read();
    const aborted = openaiFake.waitForAbort(5000);
    controller.abort();
    expect((await aborted).aborted).toBe(true);
    expect(await getJob(jobId)).toMatchObject({ status: 'canceled', error: { code: 'client_disconnected' } });
    // The provider bills what it generated: the text sent and its estimated cost stay on the canceled job.
    const billed = await eventually(async () => {
      const job = await getJob(jobId);
      return job.cost_usd !== null ? job : undefined;
    }, 5_000, 'the canceled job charged');
    expect(billed.cost_usd).toBeGreaterThan(0);
    expect(billed.result?.choices[0]?.message.content?.startsWith('a')).toBe(true);
    expect(billed.usage?.completion_tokens).toBeGreaterThan(0);

    openaiFake.script({ stream: openAIStream({ text: 'x y z w', intervalMs: 100 }) });
    const kept = new AbortController();
    const withHook = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', signal: kept.signal,
      headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'compat', messages: userMessage('keep going'), stream: true, webhook: { url: 'http://127.0.0.1:9/hook' } }),
    });
    const hookJob = withHook.headers.get('x-sluice-job-id') ?? '';
    await withHook.body!.getReader().read();
    kept.abort();
    const done = await getJob(hookJob);
    expect(done.status).toBe('succeeded');
    expect(done.result?.choices[0]?.message.content).toBe('x y z w');
  });

  it('a client that stops reading never holds the worker back: the job finishes while its output waits in Redis, then the client reads it all', async () => {
    const words = Array.from({ length: 20_000 }, (_, index) => `word${index}`).join(' ');
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'mock', messages: userMessage(words), stream: true }),
    });
    const id = response.headers.get('x-sluice-job-id') ?? '';
    // Not a byte read yet: the API cannot write ~4 MB of chunks to this socket, the worker finishes regardless.
    const job = (await client(gateway.url).waitForJob(id, undefined, 20_000)) as JobObject;
    expect(job.status).toBe('succeeded');
    const text = sseEvents(await response.text()).filter((event) => event.data !== '[DONE]').map((event) => JSON.parse(event.data).choices[0]?.delta?.content ?? '').join('');
    expect(text).toBe(`echo: ${words}`);
  });});

describe('async streamed jobs: GET /v1/jobs/{id}/events with resumable ids', () => {
  let fake: FakeProviderServer;
  let gateway: Gateway;

  beforeAll(async () => {
    fake = await startFakeProvider('openai');
    gateway = await startGateway(
      makeConfig({
        providers: { fake: { type: 'openai-compatible', base_url: fake.url }, mock: { type: 'mock', latency_ms: 0, stream_chunk_ms: 1 } },
        routes: { default: ['fake/gpt-4o-mini'], slow: ['mock/echo'] },
        jobs: { stream_max_entries: 100 },
        server: { host: '127.0.0.1', port: 0, shutdown_grace_s: 10, sync_timeout_s: 2 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  const events = async (id: string, lastEventId?: string) => {
    const response = await fetch(`${gateway.url}/v1/jobs/${id}/events`, {
      headers: { authorization: `Bearer ${KEYS.acme}`, ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
    });
    expect(response.status).toBe(200);
    return sseEvents(await response.text());
  };

  it('interleaves status and delta events with ids; a reconnect with Last-Event-ID gets exactly the rest; a late reader the whole stream', async () => {
    fake.script({ stream: openAIStream({ text: 'alpha beta gamma delta epsilon zeta eta theta', intervalMs: 40 }) });
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('async stream'), stream: true });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;

    // Read a few events live, then drop the connection mid-stream.
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}` }, signal: controller.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = '';
    while (sseEvents(text).filter((event) => event.event === 'delta').length < 2) text += decoder.decode((await reader.read()).value, { stream: true });
    controller.abort();
    const seen = sseEvents(text).filter((event) => event.event === 'delta' || event.event === 'status');
    const lastSeen = seen.at(-1)!;

    const rest = await events(id, lastSeen.id);
    const all = await events(id); // after the end: the whole stream, same ids
    const ids = all.map((event) => event.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(all[0]).toMatchObject({ event: 'status' });
    expect(JSON.parse(all[0]!.data)).toMatchObject({ id, status: 'queued' });
    expect(all.at(-1)).toMatchObject({ event: 'status' });
    expect(JSON.parse(all.at(-1)!.data)).toMatchObject({ id, object: 'job', status: 'succeeded' });
    expect(all.map((event) => event.event)).toContain('delta');

    // The first connection's events, then the reconnect's, are exactly the whole stream: no gap, no duplicate.
    expect([...seen, ...rest].map((event) => event.id)).toEqual(ids);
    const joined = all.filter((event) => event.event === 'delta').map((event) => JSON.parse(event.data).choices[0]?.delta?.content ?? '').join('');
    expect(joined).toBe('alpha beta gamma delta epsilon zeta eta theta');
    const job = (await api.waitForJob(id)) as JobObject;
    expect(job.result?.choices[0]?.message.content).toBe(joined);
    expect(await events(id, all.at(-1)!.id)).toEqual([]);
  });

  it('a Last-Event-ID the stream never sent (garbage, too large, ahead of it, a chunk its entry lacks) is a 400 naming the header', async () => {
    const api = client(gateway.url);
    fake.script({ stream: openAIStream({ text: 'slow enough to be running', intervalMs: 300 }) });
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('bad id'), stream: true });
    const [first] = (await events(submitted.body.id)).filter((event) => event.event === 'delta');
    const entry = first!.id!.split('.')[0]!;
    for (const id of ['garbage', '99999999999999999999-0', '1-99999999999999999999.1', '9999999999999-0', `${entry}.99`]) {
      const response = await fetch(`${gateway.url}/v1/jobs/${submitted.body.id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}`, 'last-event-id': id } });
      expect(response.status, id).toBe(400);
      expect(((await response.json()) as { error: unknown }).error).toMatchObject({ param: 'Last-Event-ID' });
    }
    const other = await fetch(`${gateway.url}/v1/jobs/${submitted.body.id}/events`, { headers: { authorization: `Bearer ${KEYS.globex}` } });
    expect(other.status).toBe(404);
  });

  it('a reader that comes after the stream dropped its oldest chunks gets an error event, never a silently shortened answer', async () => {
    const api = client(gateway.url);
    const words = Array.from({ length: 600 }, (_, index) => `w${index}`).join(' ');
    const submitted = await api.post('/v1/jobs', { model: 'slow', messages: userMessage(words), stream: true });
    const job = (await api.waitForJob(submitted.body.id, undefined, 20_000)) as JobObject;
    expect(job.result?.choices[0]?.message.content).toBe(`echo: ${words}`);
    const late = await events(submitted.body.id);
    expect(late.at(-1)).toMatchObject({ event: 'error' });
    expect(JSON.parse(late.at(-1)!.data).error.code).toBe('stream_truncated');
  });

  it('server.sync_timeout_s bounds the wait for the first chunk, not the stream: a stream longer than it ends whole', async () => {
    fake.script({ stream: openAIStream({ text: 'one two three four five six seven eight nine ten eleven twelve', intervalMs: 800 }) });
    const sdk = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
    const { data, response } = await sdk.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'long' }], stream: true }).withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe('one two three four five six seven eight nine ten eleven twelve');
    expect(await client(gateway.url).waitForJob(response.headers.get('x-sluice-job-id') ?? '')).toMatchObject({ status: 'succeeded' });
  });


});
