import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import { PRICE_TABLE_VERSION } from '@sluice/providers';
import { fakeEmbedding, FAKE_EMBEDDING_TOKENS_PER_INPUT, startFakeProvider, type FakeProviderServer, type RecordedRequest } from '@sluice/providers/testing';
import type { EmbeddingList } from '@sluice/shared';
import { client, KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';

const TEXTS = ['The quick brown fox', 'jumps over', 'the lazy dog'];

/** The embeddings requests a fake received, by the texts it was asked to embed. */
const embeddingsRequests = (fake: FakeProviderServer): RecordedRequest[] => fake.requests.filter((request) => request.method === 'POST' && /embed/i.test(request.path));

describe('embeddings through the queue, on every provider type that embeds', () => {
  let openaiFake: FakeProviderServer;
  let compatFake: FakeProviderServer;
  let geminiFake: FakeProviderServer;
  let anthropicFake: FakeProviderServer;
  let flakyFake: FakeProviderServer;
  let gateway: Gateway;
  let openai: OpenAI;

  beforeAll(async () => {
    [openaiFake, compatFake, geminiFake, anthropicFake, flakyFake] = await Promise.all([
      startFakeProvider('openai'), startFakeProvider('openai'), startFakeProvider('gemini'), startFakeProvider('anthropic'),
      startFakeProvider('openai', () => ({ status: 500, body: { error: { message: 'embedding backend down', type: 'server_error' } } })),
    ]);
    gateway = await startGateway(
      makeConfig({
        providers: {
          openai: { type: 'openai', base_url: openaiFake.url, api_key: 'sk-openai', batch: { enabled: true, min_lead_s: 0 } },
          compat: { type: 'openai-compatible', base_url: compatFake.url },
          gemini: { type: 'gemini', base_url: geminiFake.url, api_key: 'gm-key' },
          anthropic: { type: 'anthropic', base_url: anthropicFake.url, api_key: 'sk-ant' },
          flaky: { type: 'openai-compatible', base_url: flakyFake.url, retry: { attempts: 2, backoff_ms: 10, max_backoff_ms: 20 } },
        },
        routes: {
          'emb-openai': ['openai/text-embedding-3-small'],
          'emb-compat': ['compat/bge-small'],
          'emb-gemini': ['gemini/gemini-embedding-001'],
          'emb-failover': ['flaky/bge-small', 'openai/text-embedding-3-small'],
          'emb-skip': ['anthropic/claude-3-5-haiku-latest', 'openai/gpt-4o-mini', 'gemini/gemini-2.0-flash', 'openai/text-embedding-3-small'],
          'chat-only': ['openai/gpt-4o-mini', 'anthropic/claude-3-5-haiku-latest'],
        },
        pricing: { 'compat/bge-small': { input: 0.01, output: 0 } },
        breaker: { min_requests: 1000 },
      }),
    );
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openaiFake, compatFake, geminiFake, anthropicFake, flakyFake].map((fake) => fake.close()));
  });

  const routes = [
    { route: 'emb-openai', provider: 'openai', fake: () => openaiFake, tokens: TEXTS.length * FAKE_EMBEDDING_TOKENS_PER_INPUT, usd: 0.02, sent: { encoding_format: 'float' } },
    { route: 'emb-compat', provider: 'compat', fake: () => compatFake, tokens: TEXTS.length * FAKE_EMBEDDING_TOKENS_PER_INPUT, usd: 0.01, sent: { encoding_format: 'float' } },
    // Gemini counts no embedding tokens: Sluice estimates 4 characters a token (19 → 5, 10 → 3, 12 → 3).
    { route: 'emb-gemini', provider: 'gemini', fake: () => geminiFake, tokens: 11, usd: 0.15, sent: { requests: TEXTS.map((text) => ({ model: 'models/gemini-embedding-001', content: { role: 'user', parts: [{ text }] } })) } },
  ];

  it.each(routes)('$route: the openai SDK with encoding_format float gets the vectors the provider sent, with usage and the x-sluice headers', async ({ route, provider, fake, tokens, usd, sent }) => {
    const { data: answer, response } = await openai.embeddings.create({ model: route, input: TEXTS, encoding_format: 'float' }).withResponse();
    expect(answer.object).toBe('list');
    expect(answer.data.map((entry) => [entry.object, entry.index])).toEqual([['embedding', 0], ['embedding', 1], ['embedding', 2]]);
    expect(answer.data.map((entry) => entry.embedding)).toEqual(TEXTS.map((text) => fakeEmbedding(text)));
    expect(answer.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
    expect(response.headers.get('x-sluice-provider')).toBe(provider);
    expect(Number(response.headers.get('x-sluice-cost-usd'))).toBeCloseTo((tokens * usd) / 1e6, 15);
    // An OpenAI-shaped provider is asked for floats: base64 is Sluice's to encode.
    expect(embeddingsRequests(fake()).at(-1)?.body).toMatchObject(sent);

    const job = await client(gateway.url).waitForJob<EmbeddingList>(response.headers.get('x-sluice-job-id') ?? '');
    expect(job).toMatchObject({ status: 'succeeded', endpoint: '/v1/embeddings', priority: 'high', provider, execution: { mode: 'realtime' } });
    expect(job.result).toEqual(answer);
    expect(job.usage).toEqual({ prompt_tokens: tokens, completion_tokens: 0, total_tokens: tokens });
    expect(job.cost_usd).toBeCloseTo((tokens * usd) / 1e6, 15);
  });

  it.each(routes)('$route: the openai SDK default (base64, decoded by the SDK) gets the same vectors', async ({ route, fake }) => {
    const answer = await openai.embeddings.create({ model: route, input: TEXTS });
    expect(answer.data.map((entry) => Array.from(entry.embedding))).toEqual(TEXTS.map((text) => fakeEmbedding(text)));
    expect(embeddingsRequests(fake()).length).toBeGreaterThan(0);
    // What the SDK decoded was base64 on the wire: the raw answer says so.
    const raw = await fetch(`${gateway.url}/v1/embeddings`, {
      method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: route, input: TEXTS[0], encoding_format: 'base64' }),
    });
    const body = (await raw.json()) as EmbeddingList;
    expect(typeof body.data[0]?.embedding).toBe('string');
    const bytes = Buffer.from(body.data[0]?.embedding as string, 'base64');
    expect(Array.from({ length: bytes.length / 4 }, (_, index) => bytes.readFloatLE(index * 4))).toEqual(fakeEmbedding(TEXTS[0] ?? ''));
  });

  it('prices: bundled for openai and gemini embedding models, gemini marked estimated; the usage report counts them', async () => {
    const api = client(gateway.url);
    const { response } = await openai.embeddings.create({ model: 'emb-gemini', input: 'estimate me', encoding_format: 'float' }).withResponse();
    const gemini = await api.waitForJob<EmbeddingList>(response.headers.get('x-sluice-job-id') ?? '');
    expect(gemini.cost_details).toMatchObject({ price_source: `bundled:${PRICE_TABLE_VERSION}`, input_usd_per_1m: 0.15, output_usd_per_1m: 0, reason: expect.stringMatching(/^estimated: the provider reports no token usage for embeddings/) });
    const { response: second } = await openai.embeddings.create({ model: 'emb-openai', input: 'counted', encoding_format: 'float' }).withResponse();
    const counted = await api.waitForJob<EmbeddingList>(second.headers.get('x-sluice-job-id') ?? '');
    expect(counted.cost_details).toMatchObject({ price_source: `bundled:${PRICE_TABLE_VERSION}`, input_usd_per_1m: 0.02, reason: null });

    const usage = await api.get('/v1/usage?group_by=provider,model');
    expect(usage.status).toBe(200);
    const row = (usage.body.data as { provider: string; model: string; prompt_tokens: number; completion_tokens: number; cost_usd: number }[]).find((entry) => entry.model === 'gemini-embedding-001');
    expect(row).toMatchObject({ provider: 'gemini', completion_tokens: 0 });
    expect(row?.prompt_tokens).toBeGreaterThanOrEqual(11 + 3);
    expect(row?.cost_usd).toBeGreaterThan(0);
  });

  it('dimensions reach the provider; a target that cannot give them is refused with a 400 naming dimensions', async () => {
    const short = await openai.embeddings.create({ model: 'emb-openai', input: ['short'], dimensions: 256, encoding_format: 'float' });
    expect(short.data[0]?.embedding).toEqual(fakeEmbedding('short', 256));
    expect(embeddingsRequests(openaiFake).at(-1)?.body).toMatchObject({ model: 'text-embedding-3-small', dimensions: 256, encoding_format: 'float' });
    const gemini = await openai.embeddings.create({ model: 'emb-gemini', input: ['short'], dimensions: 768, encoding_format: 'float' });
    expect(gemini.data[0]?.embedding).toHaveLength(768);
    expect((embeddingsRequests(geminiFake).at(-1)?.body as { requests: { outputDimensionality: number }[] }).requests[0]?.outputDimensionality).toBe(768);

    const refused = await client(gateway.url).post('/v1/embeddings', { model: 'emb-openai', input: 'x', dimensions: 4096 });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ type: 'invalid_request_error', code: 'no_eligible_target', param: 'dimensions', message: expect.stringContaining('openai/text-embedding-3-small: dimensions_unsupported') });
  });

  it('token-id inputs go to OpenAI-shaped providers; Gemini, which embeds text only, is refused naming input', async () => {
    const tokens = await openai.embeddings.create({ model: 'emb-compat', input: [[1, 2, 3], [4, 5]], encoding_format: 'float' });
    expect(tokens.data.map((entry) => entry.embedding)).toEqual([fakeEmbedding([1, 2, 3]), fakeEmbedding([4, 5])]);
    expect(embeddingsRequests(compatFake).at(-1)?.body).toMatchObject({ input: [[1, 2, 3], [4, 5]] });
    const single = await openai.embeddings.create({ model: 'emb-compat', input: [7, 8, 9], encoding_format: 'float' });
    expect(single.data[0]?.embedding).toEqual(fakeEmbedding([7, 8, 9]));

    const refused = await client(gateway.url).post('/v1/embeddings', { model: 'emb-gemini', input: [[1, 2]] });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'no_eligible_target', param: 'input', message: expect.stringContaining('token_input_unsupported') });
  });

  it('an async embeddings job through POST /v1/jobs: queued, then its result is the embeddings list', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { endpoint: '/v1/embeddings', model: 'emb-openai', input: TEXTS, metadata: { doc: '7' } });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ object: 'job', endpoint: '/v1/embeddings', status: 'queued', priority: 'normal', metadata: { doc: '7' } });
    expect(submitted.headers.get('location')).toBe(`/v1/jobs/${submitted.body.id}`);
    const job = await api.waitForJob<EmbeddingList>(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.result?.object).toBe('list');
    expect(job.result?.data.map((entry) => entry.embedding)).toEqual(TEXTS.map((text) => fakeEmbedding(text)));
    expect(job.usage?.prompt_tokens).toBe(TEXTS.length * FAKE_EMBEDDING_TOKENS_PER_INPUT);
    expect(job.cost_usd).toBeCloseTo((TEXTS.length * FAKE_EMBEDDING_TOKENS_PER_INPUT * 0.02) / 1e6, 15);
    // A chat job says what it is too; naming its endpoint is allowed and never reaches the provider.
    const chat = await api.post('/v1/jobs', { endpoint: '/v1/chat/completions', model: 'chat-only', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.status).toBe(202);
    expect(chat.body.endpoint).toBe('/v1/chat/completions');
    await api.waitForJob(chat.body.id);
    expect(openaiFake.requests.find((request) => request.path.endsWith('/chat/completions'))?.body).not.toHaveProperty('endpoint');
  });

  it('embeddings run in real time even where the provider batch API is on (a batch-child-like economy job too)', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { endpoint: '/v1/embeddings', model: 'emb-openai', input: 'cheap please', tier: 'economy' });
    const job = await api.waitForJob<EmbeddingList>(submitted.body.id);
    expect(job).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime', provider_batch_id: null } });
    expect(openaiFake.requests.some((request) => request.path.includes('/batches') || request.path.includes('/files'))).toBe(false);
  });

  it('fails over from a failing target to a working one, with every attempt and the move on the job', async () => {
    const api = client(gateway.url);
    const before = embeddingsRequests(flakyFake).length;
    const submitted = await api.post('/v1/jobs', { endpoint: '/v1/embeddings', model: 'emb-failover', input: ['fail me over'] });
    const job = await api.waitForJob<EmbeddingList>(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.provider).toBe('openai');
    expect(job.attempts.map((attempt) => [attempt.provider, attempt.outcome])).toEqual([['flaky', 'retryable_error'], ['flaky', 'retryable_error'], ['openai', 'succeeded']]);
    expect(job.routing.failovers).toEqual([expect.objectContaining({ from: 'flaky', to: 'openai', reason: 'retries_exhausted' })]);
    expect(embeddingsRequests(flakyFake).length - before).toBe(2);
    expect(job.result?.data[0]?.embedding).toEqual(fakeEmbedding('fail me over'));
  });

  it('skips targets that cannot embed, each with its reason on the job; none able is a 400 naming why', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { endpoint: '/v1/embeddings', model: 'emb-skip', input: 'skip the chat models' });
    const job = await api.waitForJob<EmbeddingList>(submitted.body.id);
    expect(job.status).toBe('succeeded');
    expect(job.routing.candidates.map((candidate) => [`${candidate.provider}/${candidate.model}`, candidate.eligible, candidate.reason])).toEqual([
      ['anthropic/claude-3-5-haiku-latest', false, 'embeddings_unsupported'],
      ['openai/gpt-4o-mini', false, 'not_an_embedding_model'],
      ['gemini/gemini-2.0-flash', false, 'not_an_embedding_model'],
      ['openai/text-embedding-3-small', true, null],
    ]);
    expect(job.attempts.map((attempt) => attempt.provider)).toEqual(['openai']);
    expect(anthropicFake.requests).toHaveLength(0);

    const refused = await api.post('/v1/embeddings', { model: 'chat-only', input: 'no one embeds' });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({
      type: 'invalid_request_error', code: 'no_eligible_target', param: 'model',
      message: 'No target of "chat-only" can take the embeddings job (openai/gpt-4o-mini: not_an_embedding_model, anthropic/claude-3-5-haiku-latest: embeddings_unsupported)',
    });
  });

  it('the response cache answers a repeated embeddings request without a provider call', async () => {
    const api = client(gateway.url);
    const body = { model: 'emb-openai', input: ['cache me', 'and me'], encoding_format: 'float', cache: { ttl_s: 60 } };
    const before = embeddingsRequests(openaiFake).length;
    const first = await api.post('/v1/embeddings', body);
    const second = await api.post('/v1/embeddings', body);
    expect([first.status, second.status]).toEqual([200, 200]);
    expect(second.body).toEqual(first.body);
    expect(embeddingsRequests(openaiFake).length - before).toBe(1);
    const hit = await api.waitForJob<EmbeddingList>(second.headers.get('x-sluice-job-id') ?? '');
    expect(hit).toMatchObject({ status: 'succeeded', endpoint: '/v1/embeddings', cache: { hit: true }, cost_usd: 0 });
    const other = await api.post('/v1/embeddings', { ...body, encoding_format: 'base64' });
    expect(typeof other.body.data[0].embedding).toBe('string');
    expect(embeddingsRequests(openaiFake).length - before).toBe(2);
  });

  it('GET /v1/models says which routes and targets embed', async () => {
    const models = await openai.models.list();
    const embeds = Object.fromEntries(models.data.map((model) => [model.id, (model as unknown as { embeddings: boolean }).embeddings]));
    expect(embeds).toMatchObject({
      'emb-openai': true, 'emb-gemini': true, 'emb-compat': true, 'emb-skip': true, 'chat-only': false,
      'openai/gpt-4o-mini': false, 'anthropic/claude-3-5-haiku-latest': false, 'openai/text-embedding-3-small': true, 'compat/bge-small': true,
    });
  });
});
