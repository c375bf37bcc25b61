import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { mockEmbedding } from '@sluice/providers';
import { MAX_EMBEDDING_INPUTS } from '@sluice/engine';
import { client, KEYS, makeConfig, startGateway, type Gateway, type Reply } from './harness/gateway.ts';

describe('bad embeddings input gets a 400 in OpenAI\'s error shape naming the problem', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(makeConfig({ providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] } }));
  });
  afterAll(async () => {
    // After everything below, a good request still works.
    const ok = await client(gateway.url).post('/v1/embeddings', { model: 'default', input: 'still alive', encoding_format: 'float' });
    expect(ok.status).toBe(200);
    expect(ok.body.data[0].embedding).toEqual(mockEmbedding('still alive'));
    await gateway.close();
  });

  /** The 400 of a body, with the param and a part of the message it names. */
  const refused = async (body: unknown, param: string | null, message: RegExp, path = '/v1/embeddings'): Promise<Reply> => {
    const reply = await client(gateway.url).post(path, body);
    expect(reply.status, JSON.stringify(body).slice(0, 200)).toBe(400);
    expect(Object.keys(reply.body)).toEqual(['error']);
    expect(reply.body.error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param });
    expect(Object.keys(reply.body.error).sort()).toEqual(expect.arrayContaining(['code', 'message', 'param', 'type']));
    expect(reply.body.error.message).toMatch(message);
    return reply;
  };

  it('input of the wrong type, or missing', async () => {
    await refused({ model: 'default', input: 5 }, 'input', /expected a string, an array of strings, an array of token ids, or an array of token-id arrays/);
    await refused({ model: 'default', input: { text: 'x' } }, 'input', /expected a string/);
    await refused({ model: 'default' }, 'input', /input: required/);
    await refused({ model: 'default', input: ['a', 1] }, 'input', /all strings or all token-id arrays, not a mix/);
    await refused({ model: 'default', input: [[1, -2]] }, 'input.0', /non-negative integer token ids/);
    await refused({ model: 'default', input: [[1.5]] }, 'input.0', /non-negative integer token ids/);
  });

  it('empty input', async () => {
    await refused({ model: 'default', input: '' }, 'input', /must not be an empty string/);
    await refused({ model: 'default', input: [] }, 'input', /must not be an empty array/);
    await refused({ model: 'default', input: ['fine', ''] }, 'input.1', /must not be an empty string/);
    await refused({ model: 'default', input: [[]] }, 'input.0', /at least one token id/);
  });

  it(`too many inputs: at most ${MAX_EMBEDDING_INPUTS} a request, at most 8192 tokens a token array`, async () => {
    await refused({ model: 'default', input: Array.from({ length: MAX_EMBEDDING_INPUTS + 1 }, () => 'x') }, 'input', /at most 2048 inputs per request; got 2049/);
    await refused({ model: 'default', input: [Array.from({ length: 8193 }, () => 1)] }, 'input.0', /at most 8192 token ids; it holds 8193/);
    await refused({ model: 'default', input: Array.from({ length: 8193 }, () => 1) }, 'input', /at most 8192 token ids/);
    const most = await client(gateway.url).post('/v1/embeddings', { model: 'default', input: Array.from({ length: MAX_EMBEDDING_INPUTS }, (_, index) => `text ${index}`), encoding_format: 'float' });
    expect(most.status).toBe(200);
    expect(most.body.data).toHaveLength(MAX_EMBEDDING_INPUTS);
    expect(most.body.data[2047]).toEqual({ object: 'embedding', index: 2047, embedding: mockEmbedding('text 2047') });
  });

  it('an answer of megabytes reaches a synchronous caller whole (read back: too large to go along with the success announcement)', async () => {
    const input = Array.from({ length: MAX_EMBEDDING_INPUTS }, (_, index) => `t${index}`);
    const reply = await client(gateway.url).post('/v1/embeddings', { model: 'default', input, dimensions: 256, encoding_format: 'float' });
    expect(reply.status).toBe(200);
    expect(reply.body.data).toHaveLength(MAX_EMBEDDING_INPUTS);
    expect(reply.body.data[2047].embedding).toEqual(mockEmbedding('t2047', 256));
    expect(JSON.stringify(reply.body).length).toBeGreaterThan(2 * 1024 * 1024);
  });

  it('unknown and unsupported fields are refused by name, never dropped', async () => {
    await refused({ model: 'default', input: 'x', temperature: 0.2 }, 'temperature', /unknown field "temperature": not supported/);
    await refused({ model: 'default', input: 'x', messages: [{ role: 'user', content: 'x' }] }, 'messages', /unknown field "messages"/);
    await refused({ model: 'default', input: 'x', stream: true }, 'stream', /embeddings do not stream/);
    await refused({ model: 'default', input: 'x', encoding_format: 'hex' }, 'encoding_format', /"float"|"base64"/);
    await refused({ model: 'default', input: 'x', dimensions: 0 }, 'dimensions', />=1/);
    await refused({ model: 'default', input: 'x', dimensions: 2.5 }, 'dimensions', /expected int/);
    await refused({ model: 'default', input: 'x', dimensions: 8193 }, 'dimensions', /8192/);
    await refused({ model: 'default', input: 'x', user: 7 }, 'user', /string/);
    await refused({ input: 'x' }, 'model', /required/);
    await refused({ model: 'default', input: 'x', endpoint: '/v1/chat/completions' }, 'endpoint', /"\/v1\/embeddings"/);
  });

  it('POST /v1/jobs: an unknown endpoint, or an embeddings job with a field it does not take', async () => {
    await refused({ endpoint: '/v1/completions', model: 'default', prompt: 'x' }, 'endpoint', /expected one of "\/v1\/chat\/completions", "\/v1\/embeddings"/, '/v1/jobs');
    await refused({ endpoint: '/v1/embeddings', model: 'default', input: 'x', max_tokens: 5 }, 'max_tokens', /unknown field "max_tokens"/, '/v1/jobs');
    await refused({ endpoint: '/v1/embeddings', model: 'default', messages: [{ role: 'user', content: 'x' }] }, 'input', /required/, '/v1/jobs');
  });

  it('an unknown model is a 400 naming model, and the openai SDK raises BadRequestError with the param', async () => {
    const unknown = await client(gateway.url).post('/v1/embeddings', { model: 'no-such-route', input: 'x' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({ code: 'model_not_found', param: 'model' });
    const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
    const error = await openai.embeddings.create({ model: 'default', input: '' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('input');
  });
});

describe("a key's caps hold for embeddings as for chat", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(makeConfig({
      auth: { keys: [{ key: KEYS.acme, tenant: 'acme', role: 'tenant', rpm: 2, max_priority: 'normal' }] },
      providers: { mock: { type: 'mock', latency_ms: 1 } },
      routes: { default: ['mock/echo'] },
    }));
  });
  afterAll(() => gateway.close());

  it('max_priority lowers the synchronous default, and rpm answers 429 past it', async () => {
    const api = client(gateway.url);
    const first = await api.post('/v1/embeddings', { model: 'default', input: 'one' });
    expect(first.status).toBe(200);
    expect((await api.waitForJob(first.headers.get('x-sluice-job-id') ?? '')).priority).toBe('normal');
    const asked = await api.post('/v1/embeddings', { model: 'default', input: 'two', priority: 'high' });
    expect(asked.status).toBe(400);
    expect(asked.body.error).toMatchObject({ code: 'priority_not_allowed', param: 'priority' });
    const limited = await api.post('/v1/embeddings', { model: 'default', input: 'three' });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limit_exceeded');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });
});
