import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { embed, embedMany } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { OpenAIEmbeddings } from '@langchain/openai';
import { fakeEmbedding, FAKE_EMBEDDING_TOKENS_PER_INPUT, startFakeProvider, type FakeProviderServer } from '@sluice/providers/testing';
import { client, KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';

/** The texts a fake was asked to embed, request by request (OpenAI's `/embeddings` or Gemini's `:batchEmbedContents`). */
const askedTexts = (fake: FakeProviderServer): string[][] =>
  fake.requests
    .filter((request) => request.method === 'POST')
    .map((request) => {
      const body = request.body as { input?: string | string[]; requests?: { content: { parts: { text: string }[] } }[] };
      if (body.requests !== undefined) return body.requests.map((entry) => entry.content.parts.map((part) => part.text).join(''));
      return typeof body.input === 'string' ? [body.input] : (body.input ?? []);
    });

describe('embedding clients other than the openai SDK, unchanged, against Sluice', () => {
  let openaiFake: FakeProviderServer;
  let geminiFake: FakeProviderServer;
  let gateway: Gateway;
  beforeAll(async () => {
    [openaiFake, geminiFake] = await Promise.all([startFakeProvider('openai'), startFakeProvider('gemini')]);
    gateway = await startGateway(
      makeConfig({
        providers: { openai: { type: 'openai', base_url: openaiFake.url, api_key: 'sk-openai' }, gemini: { type: 'gemini', base_url: geminiFake.url, api_key: 'gm-key' } },
        routes: { 'text-embedding-3-small': ['openai/text-embedding-3-small'], docs: ['gemini/gemini-embedding-001'] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openaiFake.close(), geminiFake.close()]);
  });

  describe('the Vercel AI SDK (ai 6, @ai-sdk/openai 3)', () => {
    const provider = () => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme });

    it('embed with openai.embedding(): one vector, usage tokens', async () => {
      const { embedding, usage } = await embed({ model: provider().embedding('text-embedding-3-small'), value: 'sunny day at the beach', maxRetries: 0 });
      expect(embedding).toEqual(fakeEmbedding('sunny day at the beach'));
      expect(usage.tokens).toBe(FAKE_EMBEDDING_TOKENS_PER_INPUT);
      expect(askedTexts(openaiFake).at(-1)).toEqual(['sunny day at the beach']);
    });

    it('embedMany with openai.textEmbeddingModel() and dimensions, through Gemini: vectors in the order of the values', async () => {
      const values = ['rainy afternoon', 'snowy night in the mountains', 'windy coast'];
      const { embeddings, usage } = await embedMany({
        model: provider().textEmbeddingModel('docs'), values, maxRetries: 0, providerOptions: { openai: { dimensions: 12 } },
      });
      expect(embeddings).toEqual(values.map((value) => fakeEmbedding(value, 12)));
      expect(usage.tokens).toBe(4 + 7 + 3); // Gemini counts none: Sluice's estimate, 4 characters a token
      expect(askedTexts(geminiFake).at(-1)).toEqual(values);
    });
  });

  describe("LangChain's OpenAIEmbeddings (@langchain/openai 1.5.8, which asks for base64 through the openai SDK)", () => {
    const embeddings = (model: string) => new OpenAIEmbeddings({ model, apiKey: KEYS.acme, maxRetries: 0, configuration: { baseURL: `${gateway.url}/v1` } });

    it('embedQuery: asked as base64, decoded by the SDK to the vector the provider sent', async () => {
      expect(await embeddings('text-embedding-3-small').embedQuery('what is a sluice?')).toEqual(fakeEmbedding('what is a sluice?'));
      expect(openaiFake.requests.at(-1)?.body).toMatchObject({ model: 'text-embedding-3-small', input: ['what is a sluice?'], encoding_format: 'float' });
      const [job] = (await client(gateway.url).get('/v1/jobs?limit=1')).body.data;
      expect(job).toMatchObject({ endpoint: '/v1/embeddings', status: 'succeeded', model: 'text-embedding-3-small' });
      expect(typeof job.result.data[0].embedding).toBe('string');
    });

    it('embedDocuments, through Gemini, in document order', async () => {
      const documents = ['A sluice is a water channel.', 'Its gate controls the flow.', 'Queues are sluices for work.'];
      expect(await embeddings('docs').embedDocuments(documents)).toEqual(documents.map((text) => fakeEmbedding(text)));
      expect(askedTexts(geminiFake).at(-1)).toEqual(documents);
    });
  });
});
