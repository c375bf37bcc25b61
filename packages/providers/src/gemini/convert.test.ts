import { describe, expect, it } from 'vitest';
import { toGeminiRequest } from './convert-request.ts';
import { fromGeminiResponse, fromGeminiUsage, mapFinishReason } from './convert-response.ts';

describe('gemini conversion', () => {
  it('maps roles, system instruction, generation config, tools and function responses', () => {
    const body = toGeminiRequest({
      model: 'gemini-2.0-flash',
      messages: [
        { role: 'system', content: 'You are terse.' },
        { role: 'user', content: 'Weather in Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_0', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
        { role: 'tool', tool_call_id: 'call_0', content: '{"temp_c":18}' },
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/a.png' } }] },
      ],
      params: { max_tokens: 100, temperature: 0.5, top_p: 0.9, stop: ['END'], seed: 1, response_format: { type: 'json_object' }, tools: [{ type: 'function', function: { name: 'get_weather', description: 'd', parameters: { type: 'object' } } }], tool_choice: { type: 'function', function: { name: 'get_weather' } } },
    });
    expect(body.systemInstruction).toEqual({ parts: [{ text: 'You are terse.' }] });
    expect(body.contents).toEqual([
      { role: 'user', parts: [{ text: 'Weather in Paris?' }] },
      { role: 'model', parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } } }] },
      { role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: { temp_c: 18 } } }, { fileData: { mimeType: 'image/png', fileUri: 'https://example.com/a.png' } }] },
    ]);
    expect(body.generationConfig).toEqual({ maxOutputTokens: 100, temperature: 0.5, topP: 0.9, stopSequences: ['END'], seed: 1, responseMimeType: 'application/json' });
    expect(body.tools).toEqual([{ functionDeclarations: [{ name: 'get_weather', description: 'd', parameters: { type: 'object' } }] }]);
    expect(body.toolConfig).toEqual({ functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } });
  });

  it('maps finish reasons and blocked prompts', () => {
    expect(mapFinishReason('STOP', false)).toBe('stop');
    expect(mapFinishReason('MAX_TOKENS', false)).toBe('length');
    expect(mapFinishReason('SAFETY', false)).toBe('content_filter');
    const blocked = fromGeminiResponse({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 5, totalTokenCount: 5 } }, 'g');
    expect(blocked.choices[0]).toMatchObject({ message: { content: null }, finish_reason: 'content_filter' });
    expect(blocked.usage).toEqual({ prompt_tokens: 5, completion_tokens: 0, total_tokens: 5 });
  });

  it('leaves thought parts out of the content', () => {
    const completion = fromGeminiResponse({ candidates: [{ content: { parts: [{ text: 'thinking…', thought: true }, { text: 'Answer' }] }, finishReason: 'STOP' }] }, 'g');
    expect(completion.choices[0]?.message.content).toBe('Answer');
  });

  it('reports cached and thinking tokens in OpenAI-shaped details: cached within the prompt, thinking within the completion', () => {
    const usage = fromGeminiUsage({ promptTokenCount: 1200, cachedContentTokenCount: 1000, candidatesTokenCount: 40, thoughtsTokenCount: 160, totalTokenCount: 1400 });
    expect(usage).toEqual({
      prompt_tokens: 1200, completion_tokens: 200, total_tokens: 1400,
      prompt_tokens_details: { cached_tokens: 1000 },
      completion_tokens_details: { reasoning_tokens: 160 },
    });
    expect(fromGeminiUsage({ promptTokenCount: 5, candidatesTokenCount: 2, totalTokenCount: 7 })).toEqual({ prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 });
  });
});
