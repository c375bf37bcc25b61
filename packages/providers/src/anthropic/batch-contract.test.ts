import { expect } from 'vitest';
import { providerBatchContract } from '../testing/batch-contract-suite.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import { anthropicFromConfig } from './adapter.ts';
import { AnthropicProviderSchema } from './config-schema.ts';

providerBatchContract('anthropic', {
  format: 'anthropic',
  createAdapter: (baseUrl, timeoutMs) => anthropicFromConfig('anthropic', AnthropicProviderSchema.parse({ type: 'anthropic', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs })),
  errors,
  completionPath: '/v1/messages',
  expectAuthenticated: (request) => {
    expect(request.headers['x-api-key']).toBe('sk-contract');
    expect(request.headers['anthropic-version']).toBe('2023-06-01');
  },
  // A Message Batch keeps no label: find can only verify one by its results, once it has ended.
  findsInProgress: false,
  reportsUnrunLines: true,
  // Its requests are validated asynchronously: invalid ones come back as errored lines.
  failsAsWhole: false,
});
