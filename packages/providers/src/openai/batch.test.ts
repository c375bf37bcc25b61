import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchAdapter, ProviderAdapter } from '../provider-adapter.ts';
import { startFakeProvider, type FakeProviderServer } from '../testing/fake-provider-server.ts';
import { openAIFromConfig } from './adapter.ts';
import { OpenAIProviderSchema } from './config-schema.ts';

describe('openai batch adapter', () => {
  let fake: FakeProviderServer;
  let adapter: ProviderAdapter;
  let batch: BatchAdapter;
  beforeAll(async () => {
    fake = await startFakeProvider('openai');
    adapter = openAIFromConfig('openai', OpenAIProviderSchema.parse({ type: 'openai', base_url: fake.url, api_key: 'sk-x', project: 'proj_1' }));
    batch = adapter.batch as BatchAdapter;
  });
  afterAll(async () => {
    await adapter.close();
    await fake.close();
  });

  it('uploads a JSONL file (purpose batch) whose lines post exactly what complete() posts, then names it in a 24h batch labelled with the key', async () => {
    const request = { model: 'gpt-4o-mini', messages: [{ role: 'user' as const, content: 'hi' }], params: { seed: 3 } };
    await batch.submit('key-1', [{ custom_id: 'job_1', request }]);
    const [upload, create] = fake.requests.slice(-2);
    expect(upload?.path).toBe('/v1/files');
    expect(upload?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    expect(upload?.headers['openai-project']).toBe('proj_1');
    expect(String(upload?.body)).toMatch(/name="purpose"\r\n\r\nbatch\r\n/);
    expect(fake.batches.all.at(-1)?.lines).toEqual([{ custom_id: 'job_1', body: { seed: 3, model: 'gpt-4o-mini', messages: request.messages } }]);
    expect(create?.body).toMatchObject({ endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { sluice_key: 'key-1' } });
  });

  it('find follows list pages, newest first, a bounded number of times', async () => {
    const first = await batch.submit('old-key', [{ custom_id: 'a', request: { model: 'm', messages: [], params: {} } }]);
    const requests = Array.from({ length: 101 }, (_, index) => index);
    for (const index of requests) await batch.submit(`filler-${index}`, [{ custom_id: 'a', request: { model: 'm', messages: [], params: {} } }]);
    const before = fake.requests.length;
    expect(await batch.find('old-key')).toBe(first);
    expect(fake.requests.slice(before).map((request) => request.path)).toEqual(['/v1/batches?limit=100', `/v1/batches?limit=100&after=${fake.batches.all.at(-100)?.id}`]);
  });
});
