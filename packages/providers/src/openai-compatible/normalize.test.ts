import { describe, expect, it } from 'vitest';
import cachedReasoning from './__fixtures__/cached-reasoning.json' with { type: 'json' };
import { normalizeOpenAIResponse, normalizeOpenAIUsage } from './normalize.ts';
import { OpenAIChatResponseSchema } from './wire-schemas.ts';

describe('openai-compatible usage', () => {
  it('passes cached prompt tokens and reasoning tokens through', () => {
    const completion = normalizeOpenAIResponse(OpenAIChatResponseSchema.parse(cachedReasoning), 'o4-mini');
    expect(completion.usage).toEqual({
      prompt_tokens: 1310, completion_tokens: 212, total_tokens: 1522,
      prompt_tokens_details: { cached_tokens: 1152, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    });
  });

  it('brings loosely copied details to the shape: null details dropped, a missing or odd count read as 0', () => {
    expect(normalizeOpenAIUsage({ prompt_tokens: 3, completion_tokens: 2, prompt_tokens_details: null, completion_tokens_details: null })).toEqual({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 });
    expect(normalizeOpenAIUsage({ prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { audio_tokens: 1 }, completion_tokens_details: { reasoning_tokens: -1 } })).toEqual({
      prompt_tokens: 3, completion_tokens: 2, total_tokens: 5, prompt_tokens_details: { audio_tokens: 1, cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
    });
  });
});
