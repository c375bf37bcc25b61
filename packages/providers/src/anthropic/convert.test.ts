import { describe, expect, it } from 'vitest';
import { toAnthropicRequest } from './convert-request.ts';
import { fromAnthropicMessage, fromAnthropicUsage, mapStopReason } from './convert-response.ts';

describe('anthropic conversion', () => {
  it('hoists system messages, merges turns, maps tools and tool results, defaults max_tokens', () => {
    const body = toAnthropicRequest(
      {
        model: 'claude-3-5-haiku-latest',
        messages: [
          { role: 'system', content: 'You are terse.' },
          { role: 'developer', content: 'Answer in English.' },
          { role: 'user', content: [{ type: 'text', text: 'Weather?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } }] },
          { role: 'assistant', content: null, tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
          { role: 'tool', tool_call_id: 'toolu_1', content: '18°C' },
          { role: 'user', content: 'Thanks' },
        ],
        params: { temperature: 0.2, stop: 'END', tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } }], tool_choice: 'required', user: 'u-42' },
      },
      4096,
    );
    expect(body.system).toBe('You are terse.\n\nAnswer in English.');
    expect(body.max_tokens).toBe(4096);
    expect(body.messages.map((message) => message.role)).toEqual(['user', 'assistant', 'user']);
    expect(body.messages[0]?.content[1]).toEqual({ type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } });
    expect(body.messages[1]?.content).toEqual([{ type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(body.messages[2]?.content).toEqual([{ type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C' }, { type: 'text', text: 'Thanks' }]);
    expect(body.stop_sequences).toEqual(['END']);
    expect(body.tools).toEqual([{ name: 'get_weather', input_schema: { type: 'object' } }]);
    expect(body.tool_choice).toEqual({ type: 'any' });
    expect(body.metadata).toEqual({ user_id: 'u-42' });
    expect(toAnthropicRequest({ model: 'm', messages: [{ role: 'user', content: 'x' }], params: { max_completion_tokens: 9 } }, 4096).max_tokens).toBe(9);
  });

  it('maps stop reasons', () => {
    expect(mapStopReason('end_turn')).toBe('stop');
    expect(mapStopReason('max_tokens')).toBe('length');
    expect(mapStopReason('tool_use')).toBe('tool_calls');
    expect(mapStopReason('refusal')).toBe('content_filter');
    expect(mapStopReason(null)).toBeNull();
  });

  it('keeps text next to tool calls', () => {
    const completion = fromAnthropicMessage({
      id: 'msg_1', type: 'message', role: 'assistant', model: 'm', stop_reason: 'tool_use',
      content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 't1', name: 'f', input: { a: 1 } }],
      usage: { input_tokens: 1, output_tokens: 2 },
    });
    expect(completion.choices[0]?.message).toMatchObject({ content: 'Checking.', tool_calls: [{ id: 't1', function: { name: 'f', arguments: '{"a":1}' } }] });
  });

  it('reports cache reads, cache writes by lifetime and thinking tokens in OpenAI-shaped details, the prompt counting them all', () => {
    const usage = fromAnthropicUsage({
      input_tokens: 50, output_tokens: 300, cache_read_input_tokens: 1000, cache_creation_input_tokens: 400,
      cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 300 }, output_tokens_details: { thinking_tokens: 120 },
    });
    expect(usage).toEqual({
      prompt_tokens: 1450, completion_tokens: 300, total_tokens: 1750,
      prompt_tokens_details: { cached_tokens: 1000, cache_write_5m_tokens: 100, cache_write_1h_tokens: 300 },
      completion_tokens_details: { reasoning_tokens: 120 },
    });
  });

  it('counts every cache write as a 5-minute one when the lifetimes are not split, and reports no reasoning it was not told of', () => {
    expect(fromAnthropicUsage({ input_tokens: 12, output_tokens: 10, cache_creation_input_tokens: 4, cache_read_input_tokens: 3 })).toEqual({
      prompt_tokens: 19, completion_tokens: 10, total_tokens: 29,
      prompt_tokens_details: { cached_tokens: 3, cache_write_5m_tokens: 4, cache_write_1h_tokens: 0 },
    });
    expect(fromAnthropicUsage({ input_tokens: 7, output_tokens: 1, cache_creation_input_tokens: null, cache_read_input_tokens: null }).prompt_tokens_details).toEqual({ cached_tokens: 0, cache_write_5m_tokens: 0, cache_write_1h_tokens: 0 });
  });
});
