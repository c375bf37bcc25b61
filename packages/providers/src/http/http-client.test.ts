import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../provider-error.ts';
import { startFakeProvider, type FakeProviderServer } from '../testing/fake-provider-server.ts';
import { createHttpClient } from './http-client.ts';

describe('keep-alive HTTP client', () => {
  let fake: FakeProviderServer;
  beforeAll(async () => {
    fake = await startFakeProvider('openai');
  });
  afterAll(() => fake.close());

  it('reuses its pool of connections instead of opening one per call', async () => {
    const http = createHttpClient({ provider: 'p', baseUrl: fake.url, timeoutMs: 1000, connections: 2 });
    const before = fake.connectionCount();
    for (let index = 0; index < 20; index += 1) {
      await http.request('POST', '/chat/completions', { body: '{"messages":[]}', headers: {} });
    }
    expect(fake.connectionCount() - before).toBeLessThanOrEqual(2);
    await http.close();
  });

  it('keeps the base path and query string (Azure deployments)', async () => {
    const http = createHttpClient({ provider: 'azure', baseUrl: `${fake.url}/deployments/gpt4o?api-version=2024-10-21`, timeoutMs: 1000, connections: 1 });
    await http.request('POST', '/chat/completions', { body: '{}', headers: {} });
    expect(fake.requests.at(-1)?.path).toBe('/v1/deployments/gpt4o/chat/completions?api-version=2024-10-21');
    await http.close();
  });

  it('reports a refused connection as a retryable network error', async () => {
    const http = createHttpClient({ provider: 'dead', baseUrl: 'http://127.0.0.1:1/v1', timeoutMs: 1000, connections: 1 });
    const error = await http.request('GET', '/models', { headers: {} }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'retryable', status: null });
    await http.close();
  });
});
