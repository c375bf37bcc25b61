import { describe, expect, it } from 'vitest';
import type { ChatCompletionChunk } from '@sluice/shared';
import { ResponseEventBuilder, type ResponseEvent } from './response-events.ts';
import { parseItemId } from './item-ids.ts';

const ID = 'resp_AAAAAAAAAAAAAAAAAAAAAA';
type Delta = ChatCompletionChunk['choices'][number]['delta'];
const chunk = (delta: Delta, finish: ChatCompletionChunk['choices'][number]['finish_reason'] = null): ChatCompletionChunk => ({
  id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta, finish_reason: finish }],
});
const usage: ChatCompletionChunk = { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } };

function run(chunks: ChatCompletionChunk[]): { builder: ResponseEventBuilder; events: ResponseEvent[] } {
  const builder = new ResponseEventBuilder(ID);
  const events = builder.opening({ status: 'in_progress' }, { status: 'in_progress' });
  for (const next of chunks) events.push(...builder.add(next));
  return { builder, events };
}

describe('the Responses event stream built from chat chunks', () => {
  it('numbers every event from 0 by one, text deltas inside a message item opened and closed around them', () => {
    const { events, builder } = run([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, 'stop'), usage]);
    expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
    expect(events.map((event) => event.type)).toEqual([
      'response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.delta',
      'response.output_text.done', 'response.content_part.done', 'response.output_item.done',
    ]);
    expect(events[4]).toMatchObject({ item_id: `msg_${ID.slice(5)}_0`, output_index: 0, content_index: 0, delta: 'Hel' });
    expect(events[6]).toMatchObject({ text: 'Hello' });
    expect(builder.output).toEqual([{ id: `msg_${ID.slice(5)}_0`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }] }]);
  });

  it('gives each tool call a function_call item after the message, its arguments in deltas, closed in output order at the finish', () => {
    const { events, builder } = run([
      chunk({ role: 'assistant', content: 'Looking' }),
      chunk({ tool_calls: [{ index: 0, id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"ci' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'call_b', type: 'function', function: { name: 'time', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: 'ty":"Oslo"}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
    ]);
    const types = events.slice(2).map((event) => `${event.type}@${String(event.output_index)}`);
    expect(types).toEqual([
      'response.output_item.added@0', 'response.content_part.added@0', 'response.output_text.delta@0',
      'response.output_text.done@0', 'response.content_part.done@0', 'response.output_item.done@0',
      'response.output_item.added@1', 'response.function_call_arguments.delta@1',
      'response.output_item.added@2', 'response.function_call_arguments.delta@1', 'response.function_call_arguments.delta@2',
      'response.function_call_arguments.done@1', 'response.output_item.done@1', 'response.function_call_arguments.done@2', 'response.output_item.done@2',
    ]);
    expect(builder.output.slice(1)).toEqual([
      { id: `fc_${ID.slice(5)}_1`, type: 'function_call', status: 'completed', call_id: 'call_a', name: 'weather', arguments: '{"city":"Oslo"}' },
      { id: `fc_${ID.slice(5)}_2`, type: 'function_call', status: 'completed', call_id: 'call_b', name: 'time', arguments: '{}' },
    ]);
    expect(events.find((event) => event.type === 'response.function_call_arguments.done')).toMatchObject({ name: 'weather', arguments: '{"city":"Oslo"}' });
  });

  it('is the same for the same chunks however they are cut into reads, so a resumed reader recomputes the same numbers', () => {
    const chunks = [chunk({ role: 'assistant', content: 'a' }), chunk({ content: 'b' }), chunk({}, 'length')];
    const whole = run(chunks).events;
    const builder = new ResponseEventBuilder(ID);
    const pieces = [...builder.opening({ status: 'in_progress' }, { status: 'in_progress' }), ...builder.add(chunks[0] as ChatCompletionChunk), ...[chunks[1], chunks[2]].flatMap((next) => builder.add(next as ChatCompletionChunk))];
    expect(pieces).toEqual(whole);
    expect(whole.at(-1)).toMatchObject({ type: 'response.output_item.done', item: { status: 'incomplete' } });
  });

  it('gives an answer with no text and no call an empty message, and leaves items of an abandoned response incomplete', () => {
    const empty = run([chunk({ role: 'assistant', content: null }), chunk({}, 'stop')]);
    expect(empty.builder.output).toEqual([{ id: `msg_${ID.slice(5)}_0`, type: 'message', status: 'completed', role: 'assistant', content: [] }]);
    const cut = run([chunk({ content: 'half' })]);
    cut.builder.abandon();
    expect(cut.builder.output[0]).toMatchObject({ status: 'incomplete', content: [{ text: 'half' }] });
    expect(cut.builder.error({ type: 'api_error', code: 'stream_interrupted', message: 'cut' })).toEqual({
      type: 'error', sequence_number: 5, code: 'stream_interrupted', message: 'cut', param: null, error: { type: 'api_error', code: 'stream_interrupted', message: 'cut', param: null },
    });
  });

  it('puts a refusal in a refusal part with its own delta events', () => {
    const { events, builder } = run([chunk({ role: 'assistant', refusal: 'No' }), chunk({ refusal: '.' }), chunk({}, 'stop')]);
    expect(events.slice(3).map((event) => event.type)).toEqual(['response.content_part.added', 'response.refusal.delta', 'response.refusal.delta', 'response.refusal.done', 'response.content_part.done', 'response.output_item.done']);
    expect(builder.output[0]).toMatchObject({ content: [{ type: 'refusal', refusal: 'No.' }] });
  });

  it('item ids name their response and place, and nothing else parses', () => {
    expect(parseItemId(`fc_${ID.slice(5)}_12`)).toEqual({ responseId: ID, outputIndex: 12 });
    expect(parseItemId(`msg_${ID.slice(5)}_0`)).toEqual({ responseId: ID, outputIndex: 0 });
    expect(parseItemId('msg_abc_0')).toBeNull();
    expect(parseItemId(`rs_${ID.slice(5)}_0`)).toBeNull();
  });
});
