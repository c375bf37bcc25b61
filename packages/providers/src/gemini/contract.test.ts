import { expect } from 'vitest';
import { GeminiProviderSchema } from './config-schema.ts';
import { providerContract } from '../testing/contract-suite.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import success from './__fixtures__/success.json' with { type: 'json' };
import toolCall from './__fixtures__/tool-call.json' with { type: 'json' };
import { geminiFromConfig } from './adapter.ts';

providerContract('gemini', {
  format: 'gemini',
  createAdapter: (baseUrl, timeoutMs) => geminiFromConfig('gemini', GeminiProviderSchema.parse({ type: 'gemini', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs })),
  fixtures: { success, toolCall, errors },
  // Thinking tokens are billed as output: 8 + 2.
  successUsage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, completion_tokens_details: { reasoning_tokens: 2 } },
  completionPath: '/v1beta/models/m:generateContent',
  expectAuthenticated: (request) => {
    expect(request.headers['x-goog-api-key']).toBe('sk-contract');
    expect(request.path).not.toContain('sk-contract');
  },
});
