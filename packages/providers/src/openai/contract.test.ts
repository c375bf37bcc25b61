import { describe, expect, it } from 'vitest';
import { OpenAIProviderSchema } from './config-schema.ts';
import errors from '../openai-compatible/__fixtures__/errors.json' with { type: 'json' };
import success from '../openai-compatible/__fixtures__/success.json' with { type: 'json' };
import toolCall from '../openai-compatible/__fixtures__/tool-call.json' with { type: 'json' };
import { providerContract } from '../testing/contract-suite.ts';
import { FLEX_UNAVAILABLE_REPLY, startFakeProvider } from '../testing/fake-provider-server.ts';
import { openAIFromConfig } from './adapter.ts';

const config = (baseUrl: string, timeoutMs: number, flexTimeoutMs?: number) =>
  OpenAIProviderSchema.parse({
    type: 'openai', base_url: baseUrl, api_key: 'sk-contract', timeout_ms: timeoutMs, organization: 'org-1', project: 'proj_1',
    ...(flexTimeoutMs === undefined ? {} : { flex: { timeout_ms: flexTimeoutMs } }),
  });

providerContract('openai', {
  format: 'openai',
  createAdapter: (baseUrl, timeoutMs) => openAIFromConfig('openai', config(baseUrl, timeoutMs)),
  fixtures: { success, toolCall, errors },
  successUsage: { prompt_tokens: 19, completion_tokens: 10, total_tokens: 29, prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
  completionPath: '/v1/chat/completions',
  expectAuthenticated: (request) => expect(request.headers.authorization).toBe('Bearer sk-contract'),
});

describe('openai adapter', () => {
  it('sends organization and project headers, and the request body unchanged', async () => {
    const fake = await startFakeProvider('openai');
    const adapter = openAIFromConfig('openai', config(fake.url, 1000));
    await adapter.complete({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], params: { seed: 3, response_format: { type: 'json_object' } } });
    const seen = fake.requests[0];
    expect(seen?.headers['openai-organization']).toBe('org-1');
    expect(seen?.headers['openai-project']).toBe('proj_1');
    expect(seen?.body).toEqual({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], seed: 3, response_format: { type: 'json_object' } });
    await adapter.close();
    await fake.close();
  });
  it("fails only the job when the project may not use the model it names (403 model_not_found), and keeps the circuit's 403s for the key", async () => {
    const fake = await startFakeProvider('openai');
    const adapter = openAIFromConfig('openai', config(fake.url, 1000));
    const request = { model: 'o1-pro', messages: [{ role: 'user' as const, content: 'hi' }], params: {} };
    const message = 'Project `proj_1` does not have access to model `o1-pro`';
    fake.script({ status: 403, body: { error: { message, type: 'invalid_request_error', param: null, code: 'model_not_found' } } });
    const refused = await adapter.complete(request).catch((error: unknown) => error);
    // Tenants read the message: the operator's project id is not theirs to see.
    expect(refused).toMatchObject({ kind: 'fatal', code: 'provider_refused_request', status: 403, message: 'openai: HTTP 403: Project `proj_…` does not have access to model `o1-pro`' });
    fake.script({ status: 403, body: { error: { message: 'You have insufficient permissions for this operation. Missing scopes: model.request.', type: 'invalid_request_error', param: null, code: null } } });
    expect(await adapter.complete(request).catch((error: unknown) => error)).toMatchObject({ kind: 'auth', code: 'provider_auth', status: 403 });
    await adapter.close();
    await fake.close();
  });
  it('defaults base_url to api.openai.com', () => {
    expect(OpenAIProviderSchema.parse({ type: 'openai', api_key: 'k' }).base_url).toBe('https://api.openai.com/v1');
  });

  it('sends service_tier "flex" as given and waits flex.timeout_ms for that call, timeout_ms for the others', async () => {
    const fake = await startFakeProvider('openai', () => ({ delayMs: 400 }));
    const adapter = openAIFromConfig('openai', config(fake.url, 150, 5000));
    const flex = await adapter.complete({ model: 'o4-mini', messages: [{ role: 'user', content: 'hi' }], params: { service_tier: 'flex' } });
    expect(flex.statusCode).toBe(200);
    expect((fake.requests[0]?.body as { service_tier?: unknown }).service_tier).toBe('flex');
    const standard = await adapter.complete({ model: 'o4-mini', messages: [{ role: 'user', content: 'hi' }], params: { service_tier: 'auto' } }).catch((error: unknown) => error);
    expect(standard).toMatchObject({ kind: 'timeout', message: 'openai: no complete response within 150 ms' });
    await adapter.close();
    await fake.close();
  });
  it("reads the flex tier's 429 Resource Unavailable as flex_unavailable, not a rate limit", async () => {
    const fake = await startFakeProvider('openai');
    const adapter = openAIFromConfig('openai', config(fake.url, 1000));
    fake.script(FLEX_UNAVAILABLE_REPLY);
    const error = await adapter.complete({ model: 'o4-mini', messages: [{ role: 'user', content: 'hi' }], params: { service_tier: 'flex' } }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'flex_unavailable', status: 429, retryable: true });
    await adapter.close();
    await fake.close();
  });
});
