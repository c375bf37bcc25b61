import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../provider-error.ts';
import { startFakeOpenAI, type FakeOpenAIServer } from '../testing/fake-openai-server.ts';
import { createOpenAICompatibleAdapter } from './adapter.ts';

const request = { model: 'm', messages: [{ role: 'user' as const, content: 'ping' }], params: { temperature: 0 } };

const failure = async (promise: Promise<unknown>): Promise<ProviderError> => {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return error as ProviderError;
  }
  throw new Error('expected the call to fail');
};

describe('openai-compatible adapter over a fake OpenAI server', () => {
  let fake: FakeOpenAIServer;
  const adapter = () => createOpenAICompatibleAdapter({ id: 'p', baseUrl: fake.url, apiKey: 'sk-x', headers: { 'x-extra': '1' }, timeoutMs: 500, connections: 2 });
  beforeAll(async () => {
    fake = await startFakeOpenAI();
  });
  afterAll(() => fake.close());

  it('returns a normalized chat.completion with usage, and sends key and headers', async () => {
    const result = await adapter().complete(request);
    expect(result.statusCode).toBe(200);
    expect(result.completion).toMatchObject({ object: 'chat.completion', model: 'm', choices: [{ message: { role: 'assistant', content: 'fake: ping' }, finish_reason: 'stop' }], usage: { total_tokens: 21 } });
    const seen = fake.requests.at(-1);
    expect(seen?.path).toBe('/v1/chat/completions');
    expect(seen?.headers.authorization).toBe('Bearer sk-x');
    expect(seen?.headers['x-extra']).toBe('1');
    expect(seen?.body).toEqual({ model: 'm', messages: request.messages, temperature: 0 });
  });

  it('maps tool calls and missing usage totals', async () => {
    fake.script({
      body: {
        id: 'c1', object: 'chat.completion', created: 1, model: 'm',
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] }, finish_reason: 'tool_calls' }],
        usage: { prompt_tokens: 5, completion_tokens: 7 },
      },
    });
    const { completion } = await adapter().complete(request);
    expect(completion.choices[0]?.message.tool_calls).toEqual([{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }]);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.usage?.total_tokens).toBe(12);
  });

  it.each([
    [400, { error: { message: 'bad param', type: 'invalid_request_error' } }, 'fatal'],
    [422, { error: { message: 'unprocessable' } }, 'fatal'],
    [400, { error: { message: "This model's maximum context length is 8192 tokens", code: 'context_length_exceeded' } }, 'context_length'],
    [401, { error: { message: 'Incorrect API key' } }, 'auth'],
    [403, { error: { message: 'forbidden' } }, 'auth'],
    [429, { error: { message: 'You exceeded your current quota', code: 'insufficient_quota' } }, 'auth'],
    [500, { error: { message: 'boom' } }, 'retryable'],
    [503, 'upstream unavailable', 'retryable'],
    [529, { error: { type: 'overloaded_error' } }, 'retryable'],
    [408, '', 'retryable'],
  ] as const)('HTTP %i is a %s error', async (status, body, kind) => {
    fake.script({ status, body });
    const error = await failure(adapter().complete(request));
    expect(error.kind).toBe(kind);
    expect(error.status).toBe(status);
    expect(error.retryable).toBe(kind === 'retryable');
  });

  it('429 carries retry-after (seconds, ms, HTTP date and x-ratelimit reset)', async () => {
    fake.script({ status: 429, headers: { 'retry-after': '7' }, body: { error: { message: 'slow down' } } });
    expect((await failure(adapter().complete(request))).retryAfterMs).toBe(7000);
    fake.script({ status: 429, headers: { 'retry-after-ms': '250', 'retry-after': '7' } });
    expect((await failure(adapter().complete(request))).retryAfterMs).toBe(250);
    fake.script({ status: 429, headers: { 'x-ratelimit-reset-requests': '1m2s', 'x-ratelimit-reset-tokens': '12ms' } });
    const limited = await failure(adapter().complete(request));
    expect(limited.kind).toBe('rate_limited');
    expect(limited.retryAfterMs).toBe(62_000);
  });

  it('a hung provider times out (retryable) and the request is aborted', async () => {
    fake.script({ hang: true });
    const error = await failure(adapter().complete(request));
    expect(error.kind).toBe('timeout');
    expect(error.retryable).toBe(true);
    await fake.waitForAbort();
  });

  it('an aborted call is canceled, not retried', async () => {
    fake.script({ hang: true });
    const controller = new AbortController();
    const call = adapter().complete(request, { signal: controller.signal });
    await fake.waitForRequests(fake.requests.filter((r) => r.path.endsWith('/chat/completions')).length);
    setTimeout(() => controller.abort(), 20);
    const error = await failure(call);
    expect(error.kind).toBe('canceled');
    expect(error.retryable).toBe(false);
  });

  it('malformed bodies and 200s that carry an error are retryable failures', async () => {
    fake.script({ body: '{"choices": [' });
    expect((await failure(adapter().complete(request))).message).toContain('not JSON');
    fake.script({ body: { error: { message: 'internal hiccup' } } });
    const hidden = await failure(adapter().complete(request));
    expect(hidden.kind).toBe('retryable');
    expect(hidden.message).toContain('internal hiccup');
    fake.script({ body: { choices: [] } });
    expect((await failure(adapter().complete(request))).message).toContain('malformed response');
  });

  it('network errors are retryable', async () => {
    const dead = createOpenAICompatibleAdapter({ id: 'dead', baseUrl: 'http://127.0.0.1:1/v1', timeoutMs: 500, connections: 1 });
    const error = await failure(dead.complete(request));
    expect(error.kind).toBe('retryable');
    expect(error.status).toBeNull();
  });

  it('probe lists models, and fails like a call when the provider is down', async () => {
    await adapter().probe();
    expect(fake.requests.at(-1)?.path).toBe('/v1/models');
    fake.script({ status: 503 });
    expect((await failure(adapter().probe())).kind).toBe('retryable');
  });

  it('reuses keep-alive connections', async () => {
    const client = adapter();
    const before = fake.connectionCount();
    for (let index = 0; index < 10; index += 1) await client.complete(request);
    // Ten calls over a pool of two keep-alive sockets: never a connection per call.
    expect(fake.connectionCount() - before).toBeLessThanOrEqual(2);
    await client.close();
  });
});
