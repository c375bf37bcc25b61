import { describe, expect, it } from 'vitest';
import { MockProviderSchema } from './config-schema.ts';
import { ProviderError } from '../provider-error.ts';
import { createMockAdapter } from './adapter.ts';

const config = (input: Record<string, unknown>) => MockProviderSchema.parse({ type: 'mock', ...input });
const request = { model: 'echo', messages: [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: [{ type: 'text', text: 'Hello' }] }], params: {} };

describe('mock adapter', () => {
  it('echoes the last user message with token usage', async () => {
    const { completion } = await createMockAdapter('mock', config({ latency_ms: 0 })).complete(request);
    expect(completion.choices[0]?.message.content).toBe('echo: Hello');
    expect(completion.usage?.total_tokens).toBe((completion.usage?.prompt_tokens ?? 0) + (completion.usage?.completion_tokens ?? 0));
  });
  it('fails with a retryable 500 at its failure rate', async () => {
    const adapter = createMockAdapter('mock', config({ latency_ms: 0, failure_rate: 0.5 }), () => 0.2);
    await expect(adapter.complete(request)).rejects.toMatchObject({ kind: 'retryable', status: 500 });
    const lucky = createMockAdapter('mock', config({ latency_ms: 0, failure_rate: 0.5 }), () => 0.7);
    await expect(lucky.complete(request)).resolves.toBeDefined();
  });
  it('times out past timeout_ms and honours abort', async () => {
    const slow = createMockAdapter('mock', config({ latency_ms: 1_000, timeout_ms: 20 }));
    await expect(slow.complete(request)).rejects.toMatchObject({ kind: 'timeout' });
    const controller = new AbortController();
    const call = createMockAdapter('mock', config({ latency_ms: 1_000 })).complete(request, { signal: controller.signal });
    controller.abort();
    const error = await call.catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).kind).toBe('canceled');
  });
});
