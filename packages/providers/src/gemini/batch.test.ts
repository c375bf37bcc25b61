import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchAdapter, BatchLineResult, ProviderAdapter } from '../provider-adapter.ts';
import { startFakeProvider, type FakeProviderServer } from '../testing/fake-provider-server.ts';
import { geminiFromConfig } from './adapter.ts';
import { GeminiProviderSchema } from './config-schema.ts';
import { toGeminiRequest } from './convert-request.ts';

describe('gemini batch adapter', () => {
  let fake: FakeProviderServer;
  let adapter: ProviderAdapter;
  let batch: BatchAdapter;
  const request = (model: string) => ({ model, messages: [{ role: 'user' as const, content: 'hi' }], params: { temperature: 0 } });
  beforeAll(async () => {
    fake = await startFakeProvider('gemini');
    adapter = geminiFromConfig('gemini', GeminiProviderSchema.parse({ type: 'gemini', base_url: fake.url, api_key: 'sk-x' }));
    batch = adapter.batch as BatchAdapter;
  });
  afterAll(async () => {
    await adapter.close();
    await fake.close();
  });

  it('posts inline requests, each as complete() would send it with its custom_id as metadata.key, the key as display name', async () => {
    await batch.submit('key-1', [{ custom_id: 'job_1', request: request('models/gemini-2.5-flash') }]);
    const seen = fake.requests.at(-1);
    expect(seen?.path).toBe('/v1beta/models/gemini-2.5-flash:batchGenerateContent');
    expect(seen?.body).toEqual({ batch: { display_name: 'key-1', input_config: { requests: { requests: [{ request: toGeminiRequest(request('models/gemini-2.5-flash')), metadata: { key: 'job_1' } }] } } } });
  });

  it('refuses a submission of two models (Gemini batches hold one)', async () => {
    const error = await batch.submit('key-2', [{ custom_id: 'a', request: request('gemini-2.5-flash') }, { custom_id: 'b', request: request('gemini-2.5-pro') }]).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'fatal', code: 'provider_batch_rejected' });
  });

  it('reads results from a results file when the batch names one, errors classified by their canonical code', async () => {
    fake.batches.script({ pollsUntilDone: 0, resultsFile: true, lineErrors: { job_b: { status: 429 } } });
    const id = await batch.submit('key-3', [{ custom_id: 'job_a', request: request('m') }, { custom_id: 'job_b', request: request('m') }]);
    const lines: BatchLineResult[] = [];
    for await (const line of batch.results(id)) lines.push(line);
    expect(fake.requests.at(-1)?.path).toBe(`/download/v1beta/files/results-${id.replace('batches/', '')}:download?alt=media`);
    expect(lines.map((line) => [line.custom_id, line.outcome])).toEqual([['job_a', 'succeeded'], ['job_b', 'errored']]);
    expect(lines[1]).toMatchObject({ error: { kind: 'rate_limited', status: 429 } });
  });
});
