import { describe, expect, it } from 'vitest';
import { embeddingsContract, withFakeProvider } from '../testing/embeddings-contract-suite.ts';
import { fakeEmbedding } from '../testing/index.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import { geminiFromConfig } from './adapter.ts';
import { GeminiProviderSchema } from './config-schema.ts';
import { GEMINI_EMBED_BATCH } from './embeddings.ts';

const create = (baseUrl: string, timeoutMs = 1000) => geminiFromConfig('gemini', GeminiProviderSchema.parse({ type: 'gemini', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs }));

type SentBody = { requests: { model: string; content: { role: string; parts: { text: string }[] }; outputDimensionality?: number }[] };

embeddingsContract('gemini', {
  format: 'gemini',
  createAdapter: create,
  errors,
  embeddingsPath: '/v1beta/models/m:batchEmbedContents',
  dimensionsSent: (body) => {
    const sizes = new Set((body as SentBody).requests.map((request) => request.outputDimensionality));
    expect(sizes.size).toBe(1);
    return [...sizes][0];
  },
  // Gemini counts no embedding tokens: 4 characters a token, "alpha" 2 + "beta" 1 + "gamma delta" 3.
  usageOfThree: { prompt_tokens: 6, total_tokens: 6, estimated: true },
  expectAuthenticated: (request) => {
    expect(request.headers['x-goog-api-key']).toBe('sk-contract');
    expect(request.path).not.toContain('sk-contract');
  },
});

describe('gemini embeddings', () => {
  it('sends each text as a request of the URL model, 100 to a call, and keeps input order across calls', async () => {
    await withFakeProvider('gemini', create, async (fake, adapter) => {
      const texts = Array.from({ length: 250 }, (_, index) => `text ${index}`);
      const result = await adapter.embed!({ model: 'models/gemini-embedding-001', input: texts, dimensions: 16 });
      expect(fake.requests.map((request) => (request.body as SentBody).requests.length)).toEqual([GEMINI_EMBED_BATCH, GEMINI_EMBED_BATCH, 50]);
      expect(fake.requests.every((request) => request.path === '/v1beta/models/gemini-embedding-001:batchEmbedContents')).toBe(true);
      expect((fake.requests[0]?.body as SentBody).requests[0]).toEqual({ model: 'models/gemini-embedding-001', content: { role: 'user', parts: [{ text: 'text 0' }] }, outputDimensionality: 16 });
      expect(result.vectors).toEqual(texts.map((text) => fakeEmbedding(text, 16)));
      expect(result.model).toBe('gemini-embedding-001');
    });
  });

  it('the first failing call fails the whole embedding (the worker retries it whole)', async () => {
    await withFakeProvider('gemini', create, async (fake, adapter) => {
      fake.script({}, { status: 500, body: errors.server_error.body });
      const error = await adapter.embed!({ model: 'gemini-embedding-001', input: Array.from({ length: 150 }, (_, index) => `t${index}`) }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: 'retryable', status: 500 });
      expect(fake.requests).toHaveLength(2);
    });
  });

  it('refuses token arrays without a call: Gemini takes text only', async () => {
    await withFakeProvider('gemini', create, async (fake, adapter) => {
      const error = await adapter.embed!({ model: 'gemini-embedding-001', input: [[1, 2]] }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: 'fatal', code: 'provider_token_input_unsupported' });
      expect(fake.requests).toHaveLength(0);
    });
  });
});
