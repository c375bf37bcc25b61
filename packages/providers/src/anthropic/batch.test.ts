import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchAdapter, ProviderAdapter } from '../provider-adapter.ts';
import { startFakeProvider, type FakeProviderServer } from '../testing/fake-provider-server.ts';
import { anthropicFromConfig } from './adapter.ts';
import { keyTag } from './batch-lines.ts';
import { AnthropicProviderSchema } from './config-schema.ts';
import { toAnthropicRequest } from './convert-request.ts';

describe('anthropic batch adapter', () => {
  let fake: FakeProviderServer;
  let adapter: ProviderAdapter;
  let batch: BatchAdapter;
  const request = { model: 'claude-sonnet-4-5', messages: [{ role: 'system' as const, content: 'Be brief.' }, { role: 'user' as const, content: 'hi' }], params: { temperature: 0 } };
  beforeAll(async () => {
    fake = await startFakeProvider('anthropic');
    adapter = anthropicFromConfig('anthropic', AnthropicProviderSchema.parse({ type: 'anthropic', base_url: fake.url, api_key: 'sk-x' }));
    batch = adapter.batch as BatchAdapter;
  });
  afterAll(async () => {
    await adapter.close();
    await fake.close();
  });

  it("sends each request's params exactly as complete() would, its custom_id tagged with the key, and reports Sluice's ids", async () => {
    fake.batches.script({ pollsUntilDone: 0 });
    const id = await batch.submit('key-1', [{ custom_id: 'job_1', request }]);
    const sent = fake.batches.all.at(-1)?.lines;
    expect(sent).toEqual([{ custom_id: `${keyTag('key-1')}job_1`, body: toAnthropicRequest(request, 4096) }]);
    expect(keyTag('key-1')).toMatch(/^s[0-9a-f]{12}_$/);
    const ids: string[] = [];
    for await (const line of batch.results(id)) ids.push(line.custom_id);
    expect(ids).toEqual(['job_1']);
  });

  it('refuses, before sending, a custom_id the tag would push past the 64 characters Anthropic allows', async () => {
    const before = fake.requests.length;
    const error = await batch.submit('key-2', [{ custom_id: 'x'.repeat(51), request }]).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'fatal', code: 'provider_batch_rejected' });
    expect(fake.requests.length).toBe(before);
  });

  it("find never names a batch it cannot verify: null while it runs, its id once its results carry the key's tag", async () => {
    fake.batches.script({ pollsUntilDone: 1 });
    const id = await batch.submit('key-3', [{ custom_id: 'job_1', request }]);
    expect(await batch.find('key-3')).toBeNull();
    await batch.status(id);
    await batch.status(id);
    expect(await batch.find('key-3')).toBe(id);
    expect(await batch.find('key-4')).toBeNull();
  });
});
