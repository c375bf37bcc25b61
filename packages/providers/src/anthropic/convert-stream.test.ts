import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from '@sluice/shared';
import { classifyHttpError } from '../http/classify-error.ts';
import type { StreamChunk, StreamFailure } from '../stream-chunk.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import cache from './__fixtures__/stream-cache.json' with { type: 'json' };
import streamError from './__fixtures__/stream-error.json' with { type: 'json' };
import maxTokens from './__fixtures__/stream-max-tokens.json' with { type: 'json' };
import text from './__fixtures__/stream-text.json' with { type: 'json' };
import toolUse from './__fixtures__/stream-tool-use.json' with { type: 'json' };
import { createAnthropicStreamConverter, type AnthropicStreamEvent } from './convert-stream.ts';
import { fromAnthropicMessage } from './convert-response.ts';
import { isAnthropicRequestRefusal } from './request-refusal.ts';
import { AnthropicMessageSchema } from './wire-schemas.ts';

const CREATED = 1_760_000_000;

function run(events: AnthropicStreamEvent[]): { chunks: StreamChunk[]; failure: StreamFailure | undefined; complete: boolean } {
  const converter = createAnthropicStreamConverter({ created: CREATED });
  const chunks: StreamChunk[] = [];
  let failure: StreamFailure | undefined;
  for (const event of events) {
    const step = converter.push(event);
    chunks.push(...step.chunks);
    failure ??= step.failure;
  }
  const end = converter.end();
  return { chunks: [...chunks, ...end.chunks], failure, complete: end.complete };
}

/** What a client that follows OpenAI's accumulation rules builds from the chunks: content appended, tool calls keyed by index. */
function assemble(chunks: StreamChunk[]): Pick<ChatCompletion, 'id' | 'model' | 'usage'> & { content: string; toolCalls: { id: string; name: string; arguments: unknown }[]; finish: string | null } {
  let content = '';
  let finish: string | null = null;
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const choice of chunks.flatMap((chunk) => chunk.choices)) {
    content += choice.delta.content ?? '';
    for (const call of choice.delta.tool_calls ?? []) {
      const into = (calls[call.index] ??= { id: '', name: '', arguments: '' });
      into.id = call.id ?? into.id;
      into.name = call.function?.name ?? into.name;
      into.arguments += call.function?.arguments ?? '';
    }
    finish = choice.finish_reason ?? finish;
  }
  const usage = chunks.at(-1)?.usage ?? undefined;
  return { id: chunks[0]?.id ?? '', model: chunks[0]?.model ?? '', content, finish, usage, toolCalls: calls.map((call) => ({ ...call, arguments: JSON.parse(call.arguments) as unknown })) };
}

/** The same view of a non-streamed completion; arguments parsed, since a stream's JSON keeps the model's spacing. */
function view(completion: ChatCompletion): ReturnType<typeof assemble> {
  const [choice] = completion.choices;
  const calls = choice?.message.tool_calls ?? [];
  return {
    id: completion.id,
    model: completion.model,
    usage: completion.usage,
    content: typeof choice?.message.content === 'string' ? choice.message.content : '',
    finish: choice?.finish_reason ?? null,
    toolCalls: calls.map((call) => ({ id: call.id, name: call.function.name, arguments: JSON.parse(call.function.arguments) as unknown })),
  };
}

describe('anthropic stream conversion', () => {
  it('streams text: a role chunk, content deltas, the finish reason, then usage with no choices', () => {
    const { chunks, complete, failure } = run(text.events);
    expect(complete).toBe(true);
    expect(failure).toBeUndefined();
    const head = { id: 'msg_01XFDUDYJgAACzvnptvVoYEL', model: 'claude-3-5-haiku-20241022', created: CREATED, object: 'chat.completion.chunk' };
    expect(chunks).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: 'Hello' }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: '! How can' }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: ' I help you today?' }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null },
      { ...head, choices: [], usage: { prompt_tokens: 25, completion_tokens: 15, total_tokens: 40, prompt_tokens_details: { cached_tokens: 0, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0 } } },
    ]);
  });

  it('numbers tool calls 0, 1 (not content-block slots) and streams their arguments at that index', () => {
    const { chunks } = run(toolUse.events);
    const toolDeltas = chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []));
    expect(toolDeltas).toEqual([
      { index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } },
      { index: 0, function: { arguments: '{"city": "Pa' } },
      { index: 0, function: { arguments: 'ris", "unit"' } },
      { index: 0, function: { arguments: ': "celsius"}' } },
      { index: 1, id: 'toolu_01CpVhGL1Mg4kKQxBWn5kQXx', type: 'function', function: { name: 'get_time', arguments: '' } },
      { index: 1, function: { arguments: '{"tz":' } },
      { index: 1, function: { arguments: ' "Europe/Berlin"}' } },
    ]);
    expect(chunks.flatMap((chunk) => chunk.choices).at(-1)?.finish_reason).toBe('tool_calls');
  });

  it.each([
    ['text', text],
    ['two tools with split arguments', toolUse],
    ['a max_tokens stop', maxTokens],
    ['cache reads and writes, and thinking left out', cache],
  ])('assembles %s into what the non-streamed answer converts to', (_name, fixture) => {
    const { chunks, complete } = run(fixture.events);
    expect(complete).toBe(true);
    expect(assemble(chunks)).toEqual(view(fromAnthropicMessage(AnthropicMessageSchema.parse(fixture.message))));
  });

  it('counts cache reads and writes as prompt tokens, with thinking as reasoning, from the cumulative message_delta usage', () => {
    expect(run(cache.events).chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 6203,
      completion_tokens: 57,
      total_tokens: 6260,
      prompt_tokens_details: { cached_tokens: 5000, cache_write_5m_tokens: 200, cache_write_1h_tokens: 1000 },
      completion_tokens_details: { reasoning_tokens: 40 },
    });
  });

  it('keeps the message_start counts a message_delta leaves null or out', () => {
    const events = text.events.map((event) =>
      event.event === 'message_delta' ? { event: 'message_delta', data: { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: null, cache_read_input_tokens: null, output_tokens: 15 } } } : event,
    );
    const { chunks, failure } = run(events);
    expect(failure).toBeUndefined();
    expect(chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 25, completion_tokens: 15, total_tokens: 40 });
  });

  it('maps a max_tokens stop to length', () => {
    expect(assemble(run(maxTokens.events).chunks).finish).toBe('length');
  });

  it('ends on an error event with a failure classified as the same HTTP error would be, and is then incomplete', () => {
    const { chunks, failure, complete } = run([...streamError.events, { event: 'message_stop', data: { type: 'message_stop' } }]);
    expect(assemble(chunks).content).toBe('Hel');
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(complete).toBe(false);
    expect(failure).toMatchObject({ status: 529, message: 'overloaded_error: Overloaded' });
    expect(failure && classifyHttpError('anthropic', failure).kind).toBe('retryable');
  });

  it.each(Object.entries(errors).filter(([, fixture]) => fixture.status >= 400 && 'type' in fixture.body))('classifies a %s error event like its HTTP answer', (_name, fixture) => {
    const { failure } = run([{ event: 'error', data: fixture.body }]);
    expect(failure?.status).toBe(fixture.status);
    const streamed = failure && classifyHttpError('p', failure, isAnthropicRequestRefusal);
    const answered = classifyHttpError('p', { status: fixture.status, headers: {}, body: JSON.stringify(fixture.body) }, isAnthropicRequestRefusal);
    expect({ kind: streamed?.kind, code: streamed?.code }).toEqual({ kind: answered.kind, code: answered.code });
  });

  it('is incomplete when cut before message_stop, and emits no usage', () => {
    const { chunks, complete } = run(text.events.slice(0, -1));
    expect(complete).toBe(false);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it('gives a tool call without input fragments the arguments {}', () => {
    const events = [
      ...text.events.slice(0, 1),
      { event: 'content_block_start', data: { type: 'content_block_start', index: 0, content_block: { type: 'tool_use', id: 'toolu_1', name: 'now', input: {} } } },
      { event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } },
    ];
    expect(assemble(run(events).chunks).toolCalls).toEqual([{ id: 'toolu_1', name: 'now', arguments: {} }]);
  });

  it('drops unknown events and pings, and fails on events it cannot read or that come before message_start', () => {
    expect(run([...text.events.slice(0, 1), { event: 'future_event', data: { type: 'future_event' } }]).failure).toBeUndefined();
    expect(run([{ event: 'content_block_stop', data: { type: 'content_block_stop', index: 0 } }]).failure?.status).toBe(502);
    expect(run([...text.events.slice(0, 1), { event: 'content_block_delta', data: { type: 'content_block_delta' } }]).failure?.message).toMatch(/unreadable content_block_delta/);
    expect(run([{ event: 'message_start', data: { type: 'message_start' } }]).failure?.status).toBe(502);
  });

  it('uses the identity it is given on every chunk', () => {
    const converter = createAnthropicStreamConverter({ id: 'chatcmpl-job1', created: 7 });
    const chunks = text.events.flatMap((event) => converter.push(event).chunks);
    expect(new Set(chunks.map((chunk) => `${chunk.id} ${chunk.created} ${chunk.model}`))).toEqual(new Set(['chatcmpl-job1 7 claude-3-5-haiku-20241022']));
  });
});
