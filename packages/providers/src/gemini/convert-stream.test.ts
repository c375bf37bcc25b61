import { describe, expect, it } from 'vitest';
import type { ChatCompletion } from '@sluice/shared';
import { classifyHttpError } from '../http/classify-error.ts';
import type { StreamChunk, StreamFailure } from '../stream-chunk.ts';
import errors from './__fixtures__/errors.json' with { type: 'json' };
import blocked from './__fixtures__/stream-blocked.json' with { type: 'json' };
import streamError from './__fixtures__/stream-error.json' with { type: 'json' };
import maxTokens from './__fixtures__/stream-max-tokens.json' with { type: 'json' };
import text from './__fixtures__/stream-text.json' with { type: 'json' };
import thoughts from './__fixtures__/stream-thoughts.json' with { type: 'json' };
import toolUse from './__fixtures__/stream-tool-use.json' with { type: 'json' };
import { createGeminiStreamConverter } from './convert-stream.ts';
import { fromGeminiResponse } from './convert-response.ts';
import { isGeminiRequestRefusal } from './request-refusal.ts';
import { GeminiResponseSchema } from './wire-schemas.ts';

const CREATED = 1_760_000_000;

function run(events: unknown[]): { chunks: StreamChunk[]; failure: StreamFailure | undefined; complete: boolean } {
  const converter = createGeminiStreamConverter({ model: 'requested-model', created: CREATED });
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

type View = Pick<ChatCompletion, 'id' | 'model' | 'usage'> & { content: string; toolCalls: { id: string; name: string; arguments: string }[]; finish: string | null };

/** What a client following OpenAI's accumulation rules builds from the chunks: content appended, tool calls keyed by index. */
function assemble(chunks: StreamChunk[]): View {
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
  return { id: chunks[0]?.id ?? '', model: chunks[0]?.model ?? '', content, finish, usage: chunks.at(-1)?.usage ?? undefined, toolCalls: calls };
}

/** The same view of a non-streamed completion. */
function view(completion: ChatCompletion): View {
  const [choice] = completion.choices;
  return {
    id: completion.id,
    model: completion.model,
    usage: completion.usage,
    content: typeof choice?.message.content === 'string' ? choice.message.content : '',
    finish: choice?.finish_reason ?? null,
    toolCalls: (choice?.message.tool_calls ?? []).map((call) => ({ id: call.id, name: call.function.name, arguments: call.function.arguments })),
  };
}

describe('gemini stream conversion', () => {
  it('streams text: a role chunk, content deltas (empty parts skipped), the finish reason, then the last usage with no choices', () => {
    const { chunks, complete } = run(text.events);
    expect(complete).toBe(true);
    const head = { id: 'bH6LaNXvAbCdEfGh', model: 'gemini-2.5-flash', created: CREATED, object: 'chat.completion.chunk' };
    expect(chunks).toEqual([
      { ...head, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: 'There are **3**' }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: { content: " r's in strawberry." }, finish_reason: null }], usage: null },
      { ...head, choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: null },
      { ...head, choices: [], usage: { prompt_tokens: 9, completion_tokens: 11, total_tokens: 20 } },
    ]);
  });

  it('sends each function call whole, numbered by call, and finishes with tool_calls', () => {
    const { chunks } = run(toolUse.events);
    expect(chunks.flatMap((chunk) => chunk.choices.flatMap((choice) => choice.delta.tool_calls ?? []))).toEqual([
      { index: 0, id: 'call_0_get_weather', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris","unit":"celsius"}' } },
      { index: 1, id: 'call_1_get_time', type: 'function', function: { name: 'get_time', arguments: '{"tz":"Europe/Berlin"}' } },
    ]);
    expect(assemble(chunks).finish).toBe('tool_calls');
  });

  it.each([
    ['text', text],
    ['two function calls', toolUse],
    ['a MAX_TOKENS stop', maxTokens],
    ['thoughts (left out, counted as reasoning) and cached tokens', thoughts],
    ['a blocked prompt', blocked],
  ])('assembles %s into what the non-streamed answer converts to', (_name, fixture) => {
    const { chunks, complete } = run(fixture.events);
    expect(complete).toBe(true);
    expect(assemble(chunks)).toEqual(view(fromGeminiResponse(GeminiResponseSchema.parse(fixture.response), 'requested-model')));
  });

  it('counts thoughts in the completion and as reasoning, cached tokens in the prompt', () => {
    expect(run(thoughts.events).chunks.at(-1)?.usage).toEqual({
      prompt_tokens: 29,
      completion_tokens: 60,
      total_tokens: 89,
      prompt_tokens_details: { cached_tokens: 16 },
      completion_tokens_details: { reasoning_tokens: 45 },
    });
  });

  it('maps MAX_TOKENS to length, a safety stop and a blocked prompt to content_filter', () => {
    expect(assemble(run(maxTokens.events).chunks).finish).toBe('length');
    expect(assemble(run(blocked.events).chunks).finish).toBe('content_filter');
    const safety = [{ candidates: [{ content: { parts: [{ text: 'Sure' }], role: 'model' }, finishReason: 'SAFETY', index: 0 }] }];
    expect(assemble(run(safety).chunks)).toMatchObject({ content: 'Sure', finish: 'content_filter', model: 'requested-model' });
  });

  it('ends on an error event with a failure classified as the same HTTP error would be, and is then incomplete', () => {
    const { chunks, failure, complete } = run([...streamError.events, ...text.events]);
    expect(assemble(chunks).content).toBe('Hel');
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
    expect(complete).toBe(false);
    expect(failure).toMatchObject({ status: 503, message: 'UNAVAILABLE: The model is overloaded. Please try again later.' });
    expect(failure && classifyHttpError('gemini', failure).kind).toBe('retryable');
  });

  it.each(Object.entries(errors).filter(([, fixture]) => fixture.status >= 400))('classifies a %s error event like its HTTP answer', (_name, fixture) => {
    const { failure } = run([fixture.body]);
    const streamed = failure && classifyHttpError('p', failure, isGeminiRequestRefusal);
    const answered = classifyHttpError('p', { status: fixture.status, headers: {}, body: JSON.stringify(fixture.body) }, isGeminiRequestRefusal);
    expect({ kind: streamed?.kind, code: streamed?.code }).toEqual({ kind: answered.kind, code: answered.code });
  });

  it('is incomplete, with no usage, when the stream is cut before a finish reason', () => {
    const { chunks, complete } = run(text.events.slice(0, -1));
    expect(complete).toBe(false);
    expect(chunks.some((chunk) => chunk.usage)).toBe(false);
  });

  it('fails on an event that is not an answer, and keeps the identity it is given on every chunk', () => {
    expect(run(['not json object']).failure?.status).toBe(502);
    const converter = createGeminiStreamConverter({ model: 'm', id: 'chatcmpl-job1', created: 7 });
    const chunks = text.events.flatMap((event) => converter.push(event).chunks);
    expect(new Set(chunks.map((chunk) => `${chunk.id} ${chunk.created} ${chunk.model}`))).toEqual(new Set(['chatcmpl-job1 7 gemini-2.5-flash']));
  });
});
