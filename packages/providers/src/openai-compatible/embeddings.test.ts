import { describe, expect, it } from 'vitest';
import { encodeFloat32Base64 } from '@sluice/shared';
import { embeddingsContract, withFakeProvider } from '../testing/embeddings-contract-suite.ts';
import { FAKE_EMBEDDING_TOKENS_PER_INPUT, fakeEmbedding } from '../testing/index.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import { createOpenAICompatibleAdapter } from './adapter.ts';

const create = (baseUrl: string, timeoutMs = 1000) => createOpenAICompatibleAdapter({ id: 'compat', baseUrl, apiKey: 'sk-contract', timeoutMs, connections: 2 });

embeddingsContract('openai-compatible', {
  format: 'openai',
  createAdapter: create,
  errors,
  embeddingsPath: '/v1/embeddings',
  dimensionsSent: (body) => (body as { dimensions?: number }).dimensions,
  usageOfThree: { prompt_tokens: 3 * FAKE_EMBEDDING_TOKENS_PER_INPUT, total_tokens: 3 * FAKE_EMBEDDING_TOKENS_PER_INPUT, estimated: false },
  expectAuthenticated: (request) => expect(request.headers.authorization).toBe('Bearer sk-contract'),
});

describe('openai-compatible embeddings', () => {
  it('asks for floats, and passes token arrays and user as sent', async () => {
    await withFakeProvider('openai', create, async (fake, adapter) => {
      const result = await adapter.embed!({ model: 'e5', input: [[1, 2, 3], [4]], user: 'u-1' });
      expect(fake.requests[0]?.body).toEqual({ model: 'e5', input: [[1, 2, 3], [4]], encoding_format: 'float', user: 'u-1' });
      expect(result.vectors).toEqual([fakeEmbedding([1, 2, 3]), fakeEmbedding([4])]);
    });
  });

  it('decodes base64 vectors from a server that sends them anyway, and estimates usage a server leaves out', async () => {
    await withFakeProvider('openai', create, async (fake, adapter) => {
      fake.script({ body: { object: 'list', model: 'e5', data: [{ object: 'embedding', index: 0, embedding: encodeFloat32Base64([0.5, -0.25]) }] } });
      const result = await adapter.embed!({ model: 'e5', input: ['twelve chars'] });
      expect(result.vectors).toEqual([[0.5, -0.25]]);
      expect(result).toMatchObject({ usage: { prompt_tokens: 3, total_tokens: 3 }, usageEstimated: true });
    });
  });

  it('refuses indexes that are not one per input as a malformed (retryable) answer', async () => {
    await withFakeProvider('openai', create, async (fake, adapter) => {
      fake.script({ body: { data: [{ index: 0, embedding: [1] }, { index: 0, embedding: [2] }], usage: { prompt_tokens: 2, total_tokens: 2 } } });
      const error = await adapter.embed!({ model: 'e5', input: ['a', 'b'] }).catch((caught: unknown) => caught);
      expect(error).toMatchObject({ kind: 'retryable', message: expect.stringMatching(/indexes are not 0\.\.1/) });
    });
  });
});
