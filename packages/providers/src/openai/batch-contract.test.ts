import { expect } from 'vitest';
import errors from '../openai-compatible/__fixtures__/errors.json' with { type: 'json' };
import { providerBatchContract } from '../testing/batch-contract-suite.ts';
import { openAIFromConfig } from './adapter.ts';
import { OpenAIProviderSchema } from './config-schema.ts';

providerBatchContract('openai', {
  format: 'openai',
  createAdapter: (baseUrl, timeoutMs) => openAIFromConfig('openai', OpenAIProviderSchema.parse({ type: 'openai', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs })),
  errors,
  completionPath: '/v1/chat/completions',
  expectAuthenticated: (request) => expect(request.headers.authorization).toBe('Bearer sk-contract'),
  findsInProgress: true,
  reportsUnrunLines: true,
  failsAsWhole: true,
});
