import { describe, expect, it } from 'vitest';
import { MockProviderSchema } from './config-schema.ts';
import { createMockAdapter } from './adapter.ts';
import { MOCK_EMBEDDING_DIMENSIONS, mockEmbedding } from './embeddings.ts';

const adapter = (input: Record<string, unknown> = {}) => createMockAdapter('mock', MockProviderSchema.parse({ type: 'mock', latency_ms: 0, ...input }));

describe('mock embeddings', () => {
  it('are deterministic per input, MOCK_EMBEDDING_DIMENSIONS long unless asked, in float32-exact values', async () => {
    const result = await adapter().embed!({ model: 'echo', input: ['a', 'b', 'a'] });
    expect(result.vectors).toHaveLength(3);
    expect(result.vectors[0]).toEqual(result.vectors[2]);
    expect(result.vectors[0]).not.toEqual(result.vectors[1]);
    expect(result.vectors[0]).toHaveLength(MOCK_EMBEDDING_DIMENSIONS);
    expect(result.vectors[0]).toEqual(mockEmbedding('a'));
    expect(result.vectors.flat().every((value) => Math.fround(value) === value && value >= -1 && value < 1)).toBe(true);
    expect(result).toMatchObject({ model: 'echo', usage: { prompt_tokens: 3, total_tokens: 3 }, usageEstimated: false, statusCode: 200 });
  });

  it('take token arrays and any dimensions, longer than one digest', async () => {
    const result = await adapter().embed!({ model: 'echo', input: [[1, 2, 3]], dimensions: 100 });
    expect(result.vectors[0]).toHaveLength(100);
    expect(result.usage.prompt_tokens).toBe(3);
  });

  it('fail like the mock\'s other calls: a retryable 500 at failure_rate 1', async () => {
    const error = await adapter({ failure_rate: 1 }).embed!({ model: 'echo', input: ['a'] }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ kind: 'retryable', status: 500 });
  });
});
