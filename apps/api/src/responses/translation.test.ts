import { describe, expect, it } from 'vitest';
import { echoParams, toChatParams } from './chat-params.ts';
import { toChatMessages } from './input-items.ts';
import { CreateResponseSchema, unsupportedFields } from './request-schema.ts';

const parse = (body: Record<string, unknown>) => CreateResponseSchema.parse({ model: 'm', input: 'x', ...body });
const problems = (body: Record<string, unknown>): string[] => {
  const result = CreateResponseSchema.safeParse({ model: 'm', input: 'x', ...body });
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
};

describe('a response request as a chat request', () => {
  it('maps the parameters to chat ones and echoes them back the same', () => {
    const body = parse({
      max_output_tokens: 300, temperature: 0.2, top_p: 0.9, parallel_tool_calls: false, reasoning: { effort: 'low' }, user: 'u1',
      tools: [{ type: 'function', name: 'weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'weather' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true } },
    });
    const params = toChatParams(body);
    expect(params).toEqual({
      max_completion_tokens: 300, temperature: 0.2, top_p: 0.9, parallel_tool_calls: false, reasoning_effort: 'low', user: 'u1',
      tools: [{ type: 'function', function: { name: 'weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true } }],
      tool_choice: { type: 'function', function: { name: 'weather' } },
      response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
    });
    expect(echoParams(params)).toMatchObject({
      max_output_tokens: 300, temperature: 0.2, top_p: 0.9, parallel_tool_calls: false, reasoning: { effort: 'low', summary: null }, user: 'u1',
      tools: [{ type: 'function', name: 'weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true }],
      tool_choice: { type: 'function', name: 'weather' },
      text: { format: { type: 'json_schema', name: 'answer', schema: { type: 'object' }, strict: true, description: null } },
    });
  });

  it('leaves the defaults out, so a target without such switches can take the job', () => {
    expect(toChatParams(parse({ parallel_tool_calls: true, text: { format: { type: 'text' } }, tools: [], instructions: null, temperature: null }))).toEqual({});
    expect(toChatParams(parse({ text: { format: { type: 'json_object' } } }))).toEqual({ response_format: { type: 'json_object' } });
  });

  it('turns input items into chat messages: function calls join the assistant turn before them, their outputs are tool messages', () => {
    const body = parse({
      input: [
        { role: 'developer', content: 'Be terse.' },
        { role: 'user', content: [{ type: 'input_text', text: 'Weather in Oslo?' }, { type: 'input_image', image_url: 'https://example.test/a.png', detail: 'low' }] },
        { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Checking.', annotations: [] }] },
        { type: 'function_call', call_id: 'call_1', name: 'weather', arguments: '{"city":"Oslo"}' },
        { type: 'function_call', call_id: 'call_2', name: 'time', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: '{"c":4}' },
        { type: 'function_call_output', call_id: 'call_2', output: [{ type: 'input_text', text: 'noon' }] },
      ],
    });
    expect(toChatMessages(body.input as never)).toEqual([
      { role: 'developer', content: 'Be terse.' },
      { role: 'user', content: [{ type: 'text', text: 'Weather in Oslo?' }, { type: 'image_url', image_url: { url: 'https://example.test/a.png', detail: 'low' } }] },
      {
        role: 'assistant', content: 'Checking.',
        tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Oslo"}' } }, { id: 'call_2', type: 'function', function: { name: 'time', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_1', content: '{"c":4}' },
      { role: 'tool', tool_call_id: 'call_2', content: 'noon' },
    ]);
  });

  it('refuses what it cannot carry, naming it', () => {
    expect(unsupportedFields({ model: 'm', input: 'x', conversation: 'conv_1', prompt: { id: 'p' }, include: null, top_logprobs: 2 })).toEqual(['conversation', 'prompt', 'top_logprobs']);
    expect(problems({ tools: [{ type: 'web_search' }] })).toEqual([expect.stringMatching(/^tools\.0\.type: tool type "web_search" is not supported/)]);
    expect(problems({ truncation: 'auto' })).toEqual([expect.stringMatching(/^truncation: truncation "auto" is not supported/)]);
    expect(problems({ include: ['reasoning.encrypted_content'] })).toEqual([expect.stringMatching(/^include: include is not supported/)]);
    expect(problems({ reasoning: { summary: 'auto' } })).toEqual([expect.stringMatching(/^reasoning\.summary: reasoning summaries are not supported/)]);
    expect(problems({ input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] })).toEqual([expect.stringMatching(/^input\.0\.type: input item type "reasoning" is not supported/)]);
    expect(problems({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] })).toEqual([expect.stringMatching(/^input\.0\.content\.0\.type: content part type "input_file" is not supported/)]);
    expect(problems({ tool_choice: { type: 'allowed_tools', mode: 'auto', tools: [] } })).toEqual([expect.stringMatching(/^tool_choice: /)]);
    expect(problems({ text: { format: { type: 'json_schema', name: 'has space', schema: {} } } })).toEqual([expect.stringMatching(/^text\.format\.name: name is 1-64/)]);
  });
});
