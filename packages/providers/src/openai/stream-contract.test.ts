import { expect } from 'vitest';
import errors from '../openai-compatible/__fixtures__/errors.json' with { type: 'json' };
import { openAIStreamScripts } from '../testing/fake-openai-stream.ts';
import { providerStreamContract, providerStreamTimeoutContract, type StreamContractSpec } from '../testing/stream-contract-suite.ts';
import { openAIFromConfig } from './adapter.ts';
import { OpenAIProviderSchema } from './config-schema.ts';

const spec: StreamContractSpec = {
  format: 'openai',
  createAdapter: (baseUrl, timeoutMs) => openAIFromConfig('openai', OpenAIProviderSchema.parse({ type: 'openai', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs, organization: 'org-1' })),
  errors,
  scripts: openAIStreamScripts,
  expectStreamRequest: (request) => {
    expect(request.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
    expect(request.headers['openai-organization']).toBe('org-1');
    expect(request.headers.authorization).toBe('Bearer sk-contract');
  },
};

providerStreamContract('openai', spec);
providerStreamTimeoutContract('openai', spec);
