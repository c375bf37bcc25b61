import { describe, expect, it } from 'vitest';
import { assembleCompletion, completionChunks } from './assemble-completion.ts';
import { ChatCompletionChunkSchema, ChatCompletionSchema, type ChatCompletionChunk } from './chat.ts';

const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk' as const, created: 1760000000, model: 'gpt-x' };
const chunk = (choices: ChatCompletionChunk['choices'], usage: ChatCompletionChunk['usage'] = null): ChatCompletionChunk => ({ ...base, choices, usage });

describe('assembleCompletion', () => {
  it('joins text per choice, keeps the last finish reason and the usage chunk', () => {
    const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
    const completion = assembleCompletion([
      chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }, { index: 1, delta: { role: 'assistant', content: 'B' }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: 'Hel' }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: 'lo' }, finish_reason: null }, { index: 1, delta: { content: 'ye' }, finish_reason: 'length' }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'stop' }]),
      chunk([], usage),
    ]);
    expect(ChatCompletionSchema.parse(completion)).toEqual(completion);
    expect(completion).toMatchObject({ id: 'chatcmpl-1', object: 'chat.completion', created: 1760000000, model: 'gpt-x', usage });
    expect(completion.choices.map((choice) => [choice.message.content, choice.finish_reason])).toEqual([['Hello', 'stop'], ['Bye', 'length']]);
  });

  it('accumulates tool calls by index: id and type once, the name replaced, the arguments appended', () => {
    const completion = assembleCompletion([
      chunk([{ index: 0, delta: { role: 'assistant', content: null, tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'b', arguments: '' } }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":' } }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: '"Paris"}' } }, { index: 1, function: { arguments: '{}' } }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: {}, finish_reason: 'tool_calls' }]),
    ]);
    const message = completion.choices[0]?.message;
    expect(message?.content).toBeNull();
    expect(message?.tool_calls).toEqual([
      { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
      { id: 'call_b', type: 'function', function: { name: 'b', arguments: '{}' } },
    ]);
    expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(completion.usage).toBeUndefined();
  });

  it('joins refusals and streamed logprobs', () => {
    const completion = assembleCompletion([
      chunk([{ index: 0, delta: { refusal: 'I can' }, finish_reason: null, logprobs: { content: [{ token: 'a' }], refusal: null } }]),
      chunk([{ index: 0, delta: { refusal: 'not.' }, finish_reason: 'stop', logprobs: { content: [{ token: 'b' }] } }]),
    ]);
    expect(completion.choices[0]?.message.refusal).toBe('I cannot.');
    expect(completion.choices[0]?.logprobs).toEqual({ content: [{ token: 'a' }, { token: 'b' }], refusal: [] });
  });

  it('reads the documented chunk shape, and refuses an empty stream', () => {
    const wire = { ...base, system_fingerprint: 'fp', choices: [{ index: 0, delta: { role: 'assistant', content: 'x' }, logprobs: null, finish_reason: null }], usage: null, obfuscation: 'pad' };
    expect(ChatCompletionChunkSchema.parse(wire)).toMatchObject(wire);
    expect(assembleCompletion([ChatCompletionChunkSchema.parse(wire)]).system_fingerprint).toBe('fp');
    expect(() => assembleCompletion([])).toThrow(/no chunks/);
  });

  it('is undone by completionChunks: a whole completion streamed and joined again is the same', () => {
    const usage = { prompt_tokens: 5, completion_tokens: 3, total_tokens: 8 };
    const text = { id: 'c1', object: 'chat.completion' as const, created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant' as const, content: 'Hello there' }, finish_reason: 'stop' as const }], usage };
    const calls = {
      ...text,
      choices: [{ index: 0, message: { role: 'assistant' as const, content: null, tool_calls: [{ id: 'call_a', type: 'function' as const, function: { name: 'f', arguments: '{"x":1}' } }] }, finish_reason: 'tool_calls' as const }],
    };
    for (const completion of [text, calls]) {
      const chunks = completionChunks(completion);
      for (const piece of chunks) expect(ChatCompletionChunkSchema.parse(piece)).toEqual(piece);
      expect(chunks.at(-1)).toMatchObject({ choices: [], usage });
      expect(assembleCompletion(chunks)).toEqual(completion);
    }
  });
});
