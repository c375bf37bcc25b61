import { afterEach, describe, expect, it } from 'vitest';
import { assembleCompletion, type ChatCompletionChunk } from '@sluice/shared';
import { anthropicFromConfig } from './anthropic/adapter.ts';
import { AnthropicProviderSchema } from './anthropic/config-schema.ts';
import { geminiFromConfig } from './gemini/adapter.ts';
import { GeminiProviderSchema } from './gemini/config-schema.ts';
import type { ProviderAdapter } from './provider-adapter.ts';
import { ProviderError } from './provider-error.ts';
import { startFakeProvider, type FakeProviderServer } from './testing/fake-provider-server.ts';

const request = { model: 'm-1', messages: [{ role: 'user' as const, content: 'stream me' }], params: {} };

const collect = async (source: AsyncIterable<ChatCompletionChunk>): Promise<ChatCompletionChunk[]> => {
  const chunks: ChatCompletionChunk[] = [];
  for await (const chunk of source) chunks.push(chunk);
  return chunks;
};

const failure = async (source: AsyncIterable<ChatCompletionChunk>): Promise<ProviderError> => {
  try {
    await collect(source);
  } catch (error) {
    return error as ProviderError;
  }
  throw new Error('the stream did not fail');
};

const vendors = {
  anthropic: (fake: FakeProviderServer) => anthropicFromConfig('a', AnthropicProviderSchema.parse({ type: 'anthropic', base_url: fake.url, api_key: 'k', timeout_ms: 2_000 })),
  gemini: (fake: FakeProviderServer) => geminiFromConfig('g', GeminiProviderSchema.parse({ type: 'gemini', base_url: fake.url, api_key: 'k', timeout_ms: 2_000 })),
} as const;

describe.each(Object.keys(vendors) as (keyof typeof vendors)[])('%s stream()', (format) => {
  let fake: FakeProviderServer;
  let adapter: ProviderAdapter;
  const start = async () => {
    fake = await startFakeProvider(format);
    adapter = vendors[format](fake);
  };
  afterEach(async () => {
    await adapter?.close();
    await fake?.close();
  });

  it('streams chunks whose joined text and usage equal the non-streamed answer', async () => {
    await start();
    const chunks = await collect(adapter.stream!(request));
    expect(chunks.length).toBeGreaterThan(2);
    const streamed = assembleCompletion(chunks);
    const { completion } = await adapter.complete(request);
    expect(streamed.choices[0]?.message.content).toBe(completion.choices[0]?.message.content);
    expect(streamed.choices[0]?.finish_reason).toBe('stop');
    expect(streamed.usage).toMatchObject({ prompt_tokens: completion.usage?.prompt_tokens, completion_tokens: completion.usage?.completion_tokens });
  });

  it('a tool-call stream assembles the call with its whole arguments', async () => {
    await start();
    fake.streams.script({ toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }] });
    const streamed = assembleCompletion(await collect(adapter.stream!(request)));
    expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
    const call = streamed.choices[0]?.message.tool_calls?.[0]?.function;
    expect(call?.name).toBe('get_weather');
    expect(JSON.parse(call?.arguments ?? 'null')).toEqual({ city: 'Paris' });
  });

  it('an error before the first chunk is classified as complete() classifies it; after it, the stream is interrupted', async () => {
    await start();
    fake.script({ status: 401, body: { error: { type: 'authentication_error', message: 'bad key' } } });
    expect(await failure(adapter.stream!(request))).toMatchObject({ kind: 'auth', afterFirstChunk: false });
    fake.streams.script({ errorAfterDeltas: 1 });
    expect(await failure(adapter.stream!(request))).toMatchObject({ code: 'stream_interrupted', afterFirstChunk: true });
  });

  it('a stream cut before its end is a failure, not a success', async () => {
    await start();
    fake.streams.script({ cutAfterDeltas: 1 });
    expect(await failure(adapter.stream!(request))).toMatchObject({ kind: 'retryable', afterFirstChunk: true });
  });
});
