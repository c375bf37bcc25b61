import { assembleCompletion, type ChatCompletionChunk } from '@sluice/shared';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MockProviderSchema } from './config-schema.ts';
import { ProviderError } from '../provider-error.ts';
import { createMockAdapter } from './adapter.ts';

const config = (input: Record<string, unknown>) => MockProviderSchema.parse({ type: 'mock', ...input });
const request = { model: 'echo', messages: [{ role: 'system' as const, content: 'be brief' }, { role: 'user' as const, content: [{ type: 'text', text: 'Hello' }] }], params: {} };
const longRequest = { model: 'echo', messages: [{ role: 'user' as const, content: 'tell me  a story\nin a few words ' }], params: {} };

/** Reads a stream to its end or its error; `onChunk` runs after each chunk (to abort, say). */
async function drain(stream: AsyncIterable<ChatCompletionChunk> | undefined, onChunk?: () => void): Promise<{ chunks: ChatCompletionChunk[]; error: unknown }> {
  if (!stream) throw new Error('the mock does not stream');
  const chunks: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      onChunk?.();
    }
  } catch (error) {
    return { chunks, error };
  }
  return { chunks, error: null };
}

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

describe('mock adapter stream', () => {
  afterEach(() => vi.restoreAllMocks());

  it('streams the answer complete gives, word by word, with usage last', async () => {
    vi.spyOn(Date, 'now').mockReturnValue(1_700_000_000_000);
    const adapter = createMockAdapter('mock', config({ latency_ms: 0 }));
    const { completion } = await adapter.complete(longRequest);
    const { chunks, error } = await drain(adapter.stream?.(longRequest));
    expect(error).toBeNull();
    expect(chunks[0]?.choices[0]?.delta).toEqual({ role: 'assistant', content: '' });
    const pieces = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ''));
    expect(pieces.join('')).toBe('echo: tell me  a story\nin a few words ');
    expect(pieces.filter((piece) => piece !== '')).toEqual(['echo:', ' tell', ' me', '  a', ' story', '\nin', ' a', ' few', ' words', ' ']);
    expect(chunks.at(-2)?.choices).toEqual([{ index: 0, delta: {}, finish_reason: 'stop' }]);
    expect(chunks.at(-1)?.choices).toEqual([]);
    expect(chunks.at(-1)?.usage).toEqual(completion.usage);
    expect(new Set(chunks.map((chunk) => `${chunk.id} ${chunk.created} ${chunk.model}`)).size).toBe(1);
    expect(assembleCompletion(chunks)).toEqual(completion);
  });
  it('waits stream_chunk_ms between chunks', async () => {
    const adapter = createMockAdapter('mock', config({ latency_ms: 0, stream_chunk_ms: 10 }));
    const started = performance.now();
    const { chunks } = await drain(adapter.stream?.(request));
    expect(chunks.length).toBe(5);
    expect(performance.now() - started).toBeGreaterThanOrEqual(35);
  });
  it('fails before the first chunk as complete does at its failure rate', async () => {
    const adapter = createMockAdapter('mock', config({ latency_ms: 0, failure_rate: 1 }));
    const { chunks, error } = await drain(adapter.stream?.(request));
    expect(chunks).toEqual([]);
    expect(error).toMatchObject({ kind: 'retryable', status: 500, retryable: true, afterFirstChunk: false });
  });
  it('aborted mid-stream fails as canceled after the first chunk', async () => {
    const controller = new AbortController();
    const adapter = createMockAdapter('mock', config({ latency_ms: 0 }));
    const { chunks, error } = await drain(adapter.stream?.(longRequest, { signal: controller.signal }), () => controller.abort());
    expect(chunks.length).toBe(1);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'canceled', afterFirstChunk: true });
  });
  it('times out before the first chunk as complete does, and mid-stream as interrupted', async () => {
    const slow = createMockAdapter('mock', config({ latency_ms: 1_000, timeout_ms: 20 }));
    expect((await drain(slow.stream?.(request))).error).toMatchObject({ kind: 'timeout', afterFirstChunk: false });
    const slowChunks = createMockAdapter('mock', config({ latency_ms: 0, stream_chunk_ms: 1_000, timeout_ms: 20 }));
    const { chunks, error } = await drain(slowChunks.stream?.(request));
    expect(chunks.length).toBe(1);
    expect(error).toMatchObject({ kind: 'timeout', code: 'stream_interrupted', afterFirstChunk: true });
  });
});
