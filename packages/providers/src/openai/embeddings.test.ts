import { expect } from 'vitest';
import errors from '../openai-compatible/__fixtures__/errors.json' with { type: 'json' };
import { embeddingsContract } from '../testing/embeddings-contract-suite.ts';
import { FAKE_EMBEDDING_TOKENS_PER_INPUT } from '../testing/fake-embeddings.ts';
import { openAIFromConfig } from './adapter.ts';
import { OpenAIProviderSchema } from './config-schema.ts';

embeddingsContract('openai', {
  format: 'openai',
  createAdapter: (baseUrl, timeoutMs) => openAIFromConfig('openai', OpenAIProviderSchema.parse({ type: 'openai', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs, project: 'proj_1' })),
  errors,
  embeddingsPath: '/v1/embeddings',
  dimensionsSent: (body) => (body as { dimensions?: number }).dimensions,
  usageOfThree: { prompt_tokens: 3 * FAKE_EMBEDDING_TOKENS_PER_INPUT, total_tokens: 3 * FAKE_EMBEDDING_TOKENS_PER_INPUT, estimated: false },
  expectAuthenticated: (request) => {
    expect(request.headers.authorization).toBe('Bearer sk-contract');
    expect(request.headers['openai-project']).toBe('proj_1');
  },
});
