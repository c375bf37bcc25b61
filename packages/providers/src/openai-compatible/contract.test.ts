import { expect } from 'vitest';
import { providerContract } from '../testing/contract-suite.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import success from './__fixtures__/success.json' with { type: 'json' };
import toolCall from './__fixtures__/tool-call.json' with { type: 'json' };
import { createOpenAICompatibleAdapter } from './adapter.ts';

providerContract('openai-compatible', {
  format: 'openai',
  createAdapter: (baseUrl, timeoutMs) => createOpenAICompatibleAdapter({ id: 'compat', baseUrl, apiKey: 'sk-contract', timeoutMs, connections: 2 }),
  fixtures: { success, toolCall, errors },
  successUsage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
  completionPath: '/v1/chat/completions',
  expectAuthenticated: (request) => expect(request.headers.authorization).toBe('Bearer sk-contract'),
});
