import { expect } from 'vitest';
import { AnthropicProviderSchema } from './config-schema.ts';
import { providerContract } from '../testing/contract-suite.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import success from './__fixtures__/success.json' with { type: 'json' };
import toolCall from './__fixtures__/tool-call.json' with { type: 'json' };
import { anthropicFromConfig } from './adapter.ts';

providerContract('anthropic', {
  format: 'anthropic',
  createAdapter: (baseUrl, timeoutMs) => anthropicFromConfig('anthropic', AnthropicProviderSchema.parse({ type: 'anthropic', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs })),
  fixtures: { success, toolCall, errors },
  // Cache writes and reads are prompt tokens too: 12 + 4 + 3.
  successUsage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 3, cache_write_5m_tokens: 4, cache_write_1h_tokens: 0 } },
  completionPath: '/v1/messages',
  expectAuthenticated: (request) => {
    expect(request.headers['x-api-key']).toBe('sk-contract');
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
    expect(request.headers.authorization).toBeUndefined();
  },
});
