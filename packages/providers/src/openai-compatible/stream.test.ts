import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatCompletionChunk, ChatRequest } from '@sluice/shared';
import { ProviderError } from '../provider-error.ts';
import type { ProviderAdapter } from '../provider-adapter.ts';
import { OPENAI_STREAM_ERROR } from '../testing/fake-openai-stream.ts';
import { startFakeProvider, type FakeProviderServer } from '../testing/fake-provider-server.ts';
import { createOpenAICompatibleAdapter } from './adapter.ts';

const REQUEST: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'hi' }], params: { stream_options: { include_obfuscation: false }, temperature: 0 } };

async function outcome(stream: AsyncIterable<ChatCompletionChunk> | ChatCompletionChunk[]): Promise<{ chunks: ChatCompletionChunk[]; error: unknown }> {
  const chunks: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
    return { chunks, error: null };
  } catch (error) {
    return { chunks, error };
  }
}

describe('openai-compatible stream', () => {
  let fake: FakeProviderServer;
  let adapter: ProviderAdapter & Required<Pick<ProviderAdapter, 'stream'>>;
  beforeAll(async () => {
    fake = await startFakeProvider('openai');
    const created = createOpenAICompatibleAdapter({ id: 'compat', baseUrl: fake.url, timeoutMs: 1000, connections: 1 });
    if (!created.stream) throw new Error('no stream');
    adapter = created as typeof adapter;
  });
  afterAll(async () => {
    await adapter.close();
    await fake.close();
  });

  it("merges stream and include_usage into the client's params, keeping its other stream options", async () => {
    await outcome(adapter.stream(REQUEST));
    expect(fake.requests.at(-1)?.body).toEqual({ model: 'm', messages: REQUEST.messages, temperature: 0, stream: true, stream_options: { include_obfuscation: false, include_usage: true } });
  });

  it('an error object in place of the first chunk is retryable like an error in a 200 body, not interrupted', async () => {
    fake.script({ stream: { events: [{ data: OPENAI_STREAM_ERROR }, { data: '[DONE]' }] } });
    const { chunks, error } = await outcome(adapter.stream(REQUEST));
    expect(chunks).toEqual([]);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'retryable', code: 'provider_retryable', afterFirstChunk: false, status: 200 });
    expect((error as Error).message).toMatch(/error event in the stream: The server had an error/);
  });

  it('an `event: error`, bad JSON or a malformed chunk after the first fails the stream as interrupted', async () => {
    const first = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { content: 'a' }, finish_reason: null }] };
    for (const bad of [{ event: 'error', data: 'overloaded' }, { data: '{"id": "c", "cho' }, { data: { choices: 'no' } }]) {
      fake.script({ stream: { events: [{ data: first }, bad, { data: '[DONE]' }] } });
      const { chunks, error } = await outcome(adapter.stream(REQUEST));
      expect(chunks).toHaveLength(1);
      expect(error).toMatchObject({ kind: 'retryable', code: 'stream_interrupted', afterFirstChunk: true });
    }
  });

  it('withholds an auth error event, which may quote the key', async () => {
    fake.script({ stream: { events: [{ data: { error: { message: 'Incorrect API key provided: sk-secret', code: 'invalid_api_key' } } }] } });
    const { error } = await outcome(adapter.stream(REQUEST));
    expect((error as ProviderError).message).toMatch(/withheld/);
    expect(JSON.stringify([(error as ProviderError).message, (error as ProviderError).body])).not.toContain('sk-secret');
  });

  it('fills what a loose server leaves out, and maps its finish reasons', async () => {
    fake.script({ stream: { events: [{ data: { choices: [{ delta: { content: 'x' }, finish_reason: 'eos' }] } }, { data: { choices: [], usage: { prompt_tokens: 1, completion_tokens: 2 } } }, { data: '[DONE]' }] } });
    const { chunks, error } = await outcome(adapter.stream(REQUEST));
    expect(error).toBeNull();
    expect(chunks[0]).toMatchObject({ object: 'chat.completion.chunk', model: 'm', choices: [{ index: 0, delta: { content: 'x' }, finish_reason: 'stop' }], usage: null });
    expect(chunks[1]?.id).toBe(chunks[0]?.id);
    expect(chunks[1]?.usage).toEqual({ prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 });
  });

  it('a finished stream leaves its keep-alive connection for the next call; a cut one is not a success', async () => {
    const fresh = await startFakeProvider('openai');
    const single = createOpenAICompatibleAdapter({ id: 'compat', baseUrl: fresh.url, timeoutMs: 1000, connections: 1 });
    // The body goes on after [DONE] for a moment: dropping it there would cost the connection.
    const late = { stream: { events: [{ data: { choices: [{ delta: { content: 'x' }, finish_reason: 'stop' }] } }, { data: '[DONE]' }, { data: 'after the end' }], intervalMs: 30 } };
    fresh.script(late, late, late);
    for (let i = 0; i < 3; i += 1) expect((await outcome(single.stream?.(REQUEST) ?? [])).error).toBeNull();
    expect(fresh.connectionCount()).toBe(1);
    fresh.script({ stream: { events: [{ data: { choices: [] } }] } });
    expect((await outcome(single.stream?.(REQUEST) ?? [])).error).toMatchObject({ message: 'compat: stream interrupted: stream ended without [DONE]', code: 'stream_interrupted' });
    await single.close();
    await fresh.close();
  });

  it('leaving the loop early ends the HTTP request', async () => {
    fake.script({ stream: { events: [{ data: { choices: [{ delta: { content: 'x' } }] } }], hang: true } });
    for await (const chunk of adapter.stream(REQUEST)) {
      expect(chunk.choices[0]?.delta.content).toBe('x');
      break;
    }
    const seen = fake.requests.at(-1);
    await expect.poll(() => seen?.aborted, { timeout: 2000 }).toBe(true);
  });
});
