import { expect } from 'vitest';
import { providerStreamContract, providerStreamTimeoutContract, type StreamContractSpec } from '../testing/stream-contract-suite.ts';
import { openAIStreamScripts } from '../testing/fake-openai-stream.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import { createOpenAICompatibleAdapter } from './adapter.ts';

const spec: StreamContractSpec = {
  format: 'openai',
  createAdapter: (baseUrl, timeoutMs) => createOpenAICompatibleAdapter({ id: 'compat', baseUrl, apiKey: 'sk-contract', timeoutMs, connections: 2 }),
  errors,
  scripts: openAIStreamScripts,
  expectStreamRequest: (request) => expect(request.body).toMatchObject({ stream: true, stream_options: { include_usage: true } }),
};

providerStreamContract('openai-compatible', spec);
providerStreamTimeoutContract('openai-compatible', spec);
