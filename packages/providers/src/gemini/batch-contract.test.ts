import { expect } from 'vitest';
import { providerBatchContract } from '../testing/batch-contract-suite.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import { geminiFromConfig } from './adapter.ts';
import { GeminiProviderSchema } from './config-schema.ts';

providerBatchContract('gemini', {
  format: 'gemini',
  createAdapter: (baseUrl, timeoutMs) => geminiFromConfig('gemini', GeminiProviderSchema.parse({ type: 'gemini', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs })),
  errors,
  completionPath: '/v1beta/models/m:generateContent',
  expectAuthenticated: (request) => {
    expect(request.headers['x-goog-api-key']).toBe('sk-contract');
    expect(request.path).not.toContain('sk-contract');
  },
  findsInProgress: true,
  // An expired Gemini batch has no results, and lines that never ran are not reported.
  reportsUnrunLines: false,
  failsAsWhole: true,
});
