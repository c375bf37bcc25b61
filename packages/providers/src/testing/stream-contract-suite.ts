import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assembleCompletion, type ChatCompletionChunk, type ChatRequest } from '@sluice/shared';
import type { CallOptions, ProviderAdapter } from '../provider-adapter.ts';
import { ProviderError, STREAM_INTERRUPTED } from '../provider-error.ts';
import { TRACEPARENT, type ContractFixtures } from './contract-suite.ts';
import { startFakeProvider, type FakeProviderServer, type FakeReply, type RecordedRequest, type WireFormat } from './fake-provider-server.ts';

/**
 * How a test tells the format's fake what to stream. Each reply streams a few chunks in the
 * format's own events; the format's folder builds them (the OpenAI ones: `openAIStream`).
 */
export interface StreamScripts {
  /** A call to tool `name` whose `args` (JSON text) arrive in several pieces. */
  toolCall(name: string, args: string): FakeReply;
  /** Some text chunks, then the format's error event in the 200 body. */
  errorMidStream(): FakeReply;
  /** Some text chunks, then the body ends without the format's end marker. */
  cut(): FakeReply;
  /** One text chunk, then nothing more while the connection stays open. */
  stall(): FakeReply;
}

export interface StreamContractSpec {
  /** The adapter's wire format; its fake streams the JSON echo's text and usage by default. */
  format: WireFormat;
  /** Builds the adapter under test against the fake's base URL, with the API key `sk-contract`. */
  createAdapter(baseUrl: string, timeoutMs: number): ProviderAdapter;
  /** Error answers, sent before any event (the non-streamed contract's fixtures). */
  errors: Pick<ContractFixtures['errors'], 'auth' | 'rate_limited' | 'server_error'>;
  scripts: StreamScripts;
  /** Checks the provider request asked for a stream that reports usage. */
  expectStreamRequest(request: RecordedRequest): void;
}

const REQUEST: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'stream me a longer answer, please' }], params: { max_tokens: 64 } };
const TOOL_REQUEST: ChatRequest = {
  model: 'm',
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  params: { tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] },
};

interface Outcome {
  chunks: ChatCompletionChunk[];
  error: ProviderError | null;
}

/** Reads a stream to its end or its error; `onChunk` runs after each chunk (to abort, say). */
async function drain(stream: AsyncIterable<ChatCompletionChunk>, onChunk?: () => void): Promise<Outcome> {
  const chunks: ChatCompletionChunk[] = [];
  try {
    for await (const chunk of stream) {
      chunks.push(chunk);
      onChunk?.();
    }
    return { chunks, error: null };
  } catch (error) {
    expect(error).toBeInstanceOf(ProviderError);
    return { chunks, error: error as ProviderError };
  }
}

/** The streaming contract: the same answer as `complete`, chunk by chunk, and every failure typed by when it came. */
export function providerStreamContract(name: string, spec: StreamContractSpec): void {
  describe(`${name} adapter stream contract`, () => {
    let fake: FakeProviderServer;
    let adapter: ProviderAdapter;
    const stream = (request: ChatRequest, call: AbortSignal | CallOptions = {}): AsyncIterable<ChatCompletionChunk> => {
      if (!adapter.stream) throw new Error(`${name} does not stream`);
      return adapter.stream(request, call instanceof AbortSignal ? { signal: call } : call);
    };
    const interrupted = (outcome: Outcome): ProviderError => {
      expect(outcome.chunks.length).toBeGreaterThan(0);
      expect(outcome.error).toMatchObject({ code: STREAM_INTERRUPTED, afterFirstChunk: true, retryable: true });
      return outcome.error as ProviderError;
    };

    beforeAll(async () => {
      fake = await startFakeProvider(spec.format);
      adapter = spec.createAdapter(fake.url, 1000);
    });
    afterAll(async () => {
      await adapter.close();
      await fake.close();
    });

    it('normal stream: the chunks join into the non-streamed answer, and the last one carries usage', async () => {
      const { completion } = await adapter.complete(REQUEST);
      const { chunks, error } = await drain(stream(REQUEST));
      expect(error).toBeNull();
      expect(chunks.length).toBeGreaterThan(2);
      expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk')).toBe(true);
      const assembled = assembleCompletion(chunks);
      expect(assembled.choices[0]?.message.content).toBe(completion.choices[0]?.message.content);
      expect(assembled.choices[0]?.finish_reason).toBe('stop');
      expect(chunks.at(-1)?.usage).toEqual(completion.usage);
      spec.expectStreamRequest(fake.requests.at(-1) as RecordedRequest);
    });

    it('sends the call\'s headers (the trace context) on the stream request', async () => {
      await drain(stream(REQUEST, { headers: { traceparent: TRACEPARENT } }));
      expect(fake.requests.at(-1)?.headers.traceparent).toBe(TRACEPARENT);
    });

    it('tool-call stream: the call is assembled by index with its id, name and whole arguments', async () => {
      const args = JSON.stringify({ city: 'Paris', unit: 'celsius' });
      fake.script(spec.scripts.toolCall('get_weather', args));
      const { chunks, error } = await drain(stream(TOOL_REQUEST));
      expect(error).toBeNull();
      const deltas = chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []));
      expect(deltas.length).toBeGreaterThan(1);
      expect(deltas.every((delta) => delta.index === 0)).toBe(true);
      const choice = assembleCompletion(chunks).choices[0];
      expect(choice?.finish_reason).toBe('tool_calls');
      expect(choice?.message.tool_calls).toHaveLength(1);
      const call = choice?.message.tool_calls?.[0];
      expect(call).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: args } });
      expect(call?.id).toMatch(/\S/);
    });

    const before: [string, keyof StreamContractSpec['errors'], Partial<ProviderError>][] = [
      ['401 is auth', 'auth', { kind: 'auth', retryable: false }],
      ['429 is rate_limited with retry-after', 'rate_limited', { kind: 'rate_limited', retryAfterMs: 2000 }],
      ['500 is retryable', 'server_error', { kind: 'retryable', retryable: true }],
    ];
    for (const [title, key, expected] of before) {
      it(`an error before the first chunk is classified as complete() does: ${title}`, async () => {
        const scripted = spec.errors[key];
        fake.script({ status: scripted.status, body: scripted.body, headers: scripted.headers ?? {} });
        const posted = fake.requests.length;
        const { chunks, error } = await drain(stream(REQUEST));
        expect(chunks).toEqual([]);
        expect(error).toMatchObject({ ...expected, status: scripted.status, afterFirstChunk: false });
        expect(fake.requests.length - posted).toBe(1);
      });
    }

    it('an error event mid-stream fails it as interrupted', async () => {
      fake.script(spec.scripts.errorMidStream());
      expect(interrupted(await drain(stream(REQUEST))).kind).toBe('retryable');
    });

    it('a stream cut before its end marker is interrupted, not a success', async () => {
      fake.script(spec.scripts.cut());
      interrupted(await drain(stream(REQUEST)));
    });

    it('abort: the signal stops the HTTP request, and the error is canceled', async () => {
      fake.script(spec.scripts.stall());
      const controller = new AbortController();
      const { chunks, error } = await drain(stream(REQUEST, controller.signal), () => controller.abort());
      expect(chunks).toHaveLength(1);
      expect(error).toMatchObject({ kind: 'canceled', afterFirstChunk: true, retryable: false });
      expect((await fake.waitForAbort()).aborted).toBe(true);
    });
  });
}

/** The timeout's contract, apart because it needs a short limit: it bounds the whole stream, not its start. */
export function providerStreamTimeoutContract(name: string, spec: StreamContractSpec): void {
  it(`${name}: a stream still open at the call's timeout fails as interrupted (kind timeout) and is aborted`, async () => {
    const fake = await startFakeProvider(spec.format);
    const adapter = spec.createAdapter(fake.url, 300);
    fake.script(spec.scripts.stall());
    if (!adapter.stream) throw new Error(`${name} does not stream`);
    const { chunks, error } = await drain(adapter.stream(REQUEST));
    expect(chunks.length).toBeGreaterThan(0);
    expect(error).toMatchObject({ kind: 'timeout', code: STREAM_INTERRUPTED, afterFirstChunk: true });
    expect((await fake.waitForAbort()).aborted).toBe(true);
    await adapter.close();
    await fake.close();
  });
}
