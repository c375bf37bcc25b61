import { afterEach, describe, expect, it } from 'vitest';
import { createAnthropicStreamConverter } from '../anthropic/convert-stream.ts';
import { createGeminiStreamConverter } from '../gemini/convert-stream.ts';
import type { StreamChunk, StreamStep } from '../stream-chunk.ts';
import { startFakeProvider, type FakeProviderServer } from './fake-provider-server.ts';

let server: FakeProviderServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** The SSE events of a body: `event:` and `data:` lines, frames split on blank lines. */
function sseEvents(body: string): { event: string; data: unknown }[] {
  return body
    .split('\n\n')
    .filter((frame) => frame.trim() !== '')
    .map((frame) => {
      const lines = frame.split('\n');
      const event = lines.find((line) => line.startsWith('event: '))?.slice(7) ?? 'message';
      const data = lines.filter((line) => line.startsWith('data: ')).map((line) => line.slice(6)).join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}

interface Outcome {
  status: number;
  contentType: string | null;
  events: { event: string; data: unknown }[];
  content: string;
  tools: { name: string; arguments: string }[];
  finish: string | null;
  usage: StreamChunk['usage'];
  failure: StreamStep['failure'];
  complete: boolean;
}

async function stream(format: 'anthropic' | 'gemini', text: string, stream = true): Promise<Outcome> {
  if (server === undefined) throw new Error('no server');
  const [path, body] =
    format === 'anthropic'
      ? ['/v1/messages', { model: 'claude-x', max_tokens: 64, stream, messages: [{ role: 'user', content: [{ type: 'text', text }] }] }]
      : ['/models/gemini-x:streamGenerateContent?alt=sse', { contents: [{ role: 'user', parts: [{ text }] }] }];
  const response = await fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const events = sseEvents(await response.text());
  const anthropic = createAnthropicStreamConverter();
  const gemini = createGeminiStreamConverter({ model: 'gemini-x' });
  const steps = events.map((event) => (format === 'anthropic' ? anthropic.push(event) : gemini.push(event.data)));
  const end = format === 'anthropic' ? anthropic.end() : gemini.end();
  const chunks = [...steps.flatMap((step) => step.chunks), ...end.chunks];
  const choices = chunks.flatMap((chunk) => chunk.choices);
  const tools: { name: string; arguments: string }[] = [];
  for (const call of choices.flatMap((choice) => choice.delta.tool_calls ?? [])) {
    const into = (tools[call.index] ??= { name: '', arguments: '' });
    into.name = call.function?.name ?? into.name;
    into.arguments += call.function?.arguments ?? '';
  }
  return {
    status: response.status,
    contentType: response.headers.get('content-type'),
    events,
    content: choices.map((choice) => choice.delta.content ?? '').join(''),
    tools,
    finish: choices.findLast((choice) => choice.finish_reason !== null)?.finish_reason ?? null,
    usage: chunks.at(-1)?.usage,
    failure: steps.find((step) => step.failure)?.failure,
    complete: end.complete,
  };
}

describe.each(['anthropic', 'gemini'] as const)('the %s fake stream', (format) => {
  it('echoes the last user message in several deltas, with usage, as text/event-stream', async () => {
    server = await startFakeProvider(format);
    const outcome = await stream(format, 'hello streaming world');
    expect(outcome.status).toBe(200);
    expect(outcome.contentType).toBe('text/event-stream');
    expect(outcome.events.length).toBeGreaterThan(3);
    expect(outcome).toMatchObject({ content: 'fake: hello streaming world', finish: 'stop', complete: true, usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 } });
  });

  it('streams scripted tool calls, then goes back to the echo', async () => {
    server = await startFakeProvider(format);
    server.streams.script({ text: '', toolCalls: [{ name: 'get_weather', arguments: { city: 'Paris' } }, { name: 'get_time', arguments: { tz: 'UTC' } }] });
    const outcome = await stream(format, 'x');
    expect(outcome.tools.map((tool) => ({ name: tool.name, arguments: JSON.parse(tool.arguments) as unknown }))).toEqual([
      { name: 'get_weather', arguments: { city: 'Paris' } },
      { name: 'get_time', arguments: { tz: 'UTC' } },
    ]);
    expect(outcome).toMatchObject({ content: '', finish: 'tool_calls', complete: true });
    expect((await stream(format, 'again')).content).toBe('fake: again');
  });

  it('stops as max tokens does', async () => {
    server = await startFakeProvider(format);
    server.streams.script({ stop: 'max_tokens' });
    expect(await stream(format, 'long')).toMatchObject({ finish: 'length', complete: true });
  });

  it('sends an overloaded error event mid-stream, retryable once classified', async () => {
    server = await startFakeProvider(format);
    server.streams.script({ text: 'abcdef', errorAfterDeltas: 1 });
    const outcome = await stream(format, 'x');
    expect(outcome).toMatchObject({ status: 200, content: 'ab', complete: false, failure: { status: format === 'anthropic' ? 529 : 503 } });
  });

  it('cuts the stream without its end', async () => {
    server = await startFakeProvider(format);
    server.streams.script({ text: 'abcdef', cutAfterDeltas: 2 }, { cutAfterDeltas: 99 });
    expect(await stream(format, 'x')).toMatchObject({ content: 'abcd', complete: false, failure: undefined, usage: null });
    expect(await stream(format, 'whole')).toMatchObject({ content: 'fake: whole', complete: false, finish: null });
  });

  it('sends slow chunks', async () => {
    server = await startFakeProvider(format);
    server.streams.script({ delayMs: 40 });
    const started = Date.now();
    const outcome = await stream(format, 'slow');
    // At least four writes (three text pieces and the end), 40 ms apart.
    expect(Date.now() - started).toBeGreaterThanOrEqual(40 * 3 - 5);
    expect(outcome.complete).toBe(true);
  });

  it('records a client that goes away mid-stream as aborted, and stops writing', async () => {
    server = await startFakeProvider(format);
    server.streams.script({ delayMs: 200 });
    const controller = new AbortController();
    const path = format === 'anthropic' ? '/v1/messages' : '/models/m:streamGenerateContent?alt=sse';
    const response = await fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify({ stream: true, messages: [] }), signal: controller.signal });
    await response.body?.getReader().read();
    controller.abort();
    expect(await server.waitForAbort(5_000)).toMatchObject({ aborted: true, answered: false });
  });

  it('keeps scripted replies first: an error status is a JSON answer, not a stream', async () => {
    server = await startFakeProvider(format);
    server.script({ status: 429, body: { error: { message: 'slow down' } } });
    const response = await fetch(`${server.url}${format === 'anthropic' ? '/v1/messages' : '/models/m:streamGenerateContent?alt=sse'}`, { method: 'POST', body: JSON.stringify({ stream: true }) });
    expect(response.status).toBe(429);
    expect(await response.json()).toEqual({ error: { message: 'slow down' } });
    expect(server.requests[0]?.answered).toBe(true);
  });
});

describe('the anthropic fake without stream: true', () => {
  it('still answers the JSON echo', async () => {
    server = await startFakeProvider('anthropic');
    const response = await fetch(`${server.url}/v1/messages`, { method: 'POST', body: JSON.stringify({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }) });
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({ type: 'message', content: [{ type: 'text', text: 'fake: hi' }] });
  });
});
