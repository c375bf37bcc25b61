import type { ChatCompletion, FinishReason, Usage } from '@sluice/shared';
import type { GeminiResponse } from './wire-schemas.ts';

const FILTERED = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'LANGUAGE']);

export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): FinishReason | null {
  if (reason === undefined) return null;
  if (reason === 'MAX_TOKENS') return 'length';
  if (FILTERED.has(reason)) return 'content_filter';
  return hasToolCalls ? 'tool_calls' : 'stop';
}

/**
 * `usageMetadata` → OpenAI-shaped usage. The prompt count includes cached tokens; thinking tokens
 * are billed as output, so they join the completion (candidates leave them out) and the details
 * repeat them as reasoning. Gemini leaves zero counts out: details appear when it reports them.
 */
export function fromGeminiUsage(usage: NonNullable<GeminiResponse['usageMetadata']>): Usage {
  const promptTokens = usage.promptTokenCount ?? 0;
  const completionTokens = (usage.candidatesTokenCount ?? 0) + (usage.thoughtsTokenCount ?? 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: usage.totalTokenCount ?? promptTokens + completionTokens,
    ...(usage.cachedContentTokenCount === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cachedContentTokenCount } }),
    ...(usage.thoughtsTokenCount === undefined ? {} : { completion_tokens_details: { reasoning_tokens: usage.thoughtsTokenCount } }),
  };
}

/** `generateContent` response → `chat.completion`; thought parts are left out, a blocked prompt is a content_filter finish. */
export function fromGeminiResponse(response: GeminiResponse, model: string): ChatCompletion {
  const candidate = response.candidates?.[0];
  let text = '';
  const toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
  for (const part of candidate?.content?.parts ?? []) {
    if (typeof part.text === 'string' && part.thought !== true) text += part.text;
    if (part.functionCall) {
      toolCalls.push({ id: `call_${toolCalls.length}_${part.functionCall.name}`, type: 'function', function: { name: part.functionCall.name, arguments: JSON.stringify(part.functionCall.args ?? {}) } });
    }
  }
  const blocked = candidate === undefined && response.promptFeedback?.blockReason !== undefined;
  const usage = response.usageMetadata;
  return {
    id: response.responseId ?? `gemini-${Date.now().toString(36)}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: response.modelVersion ?? model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: blocked || (text === '' && toolCalls.length > 0) ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: blocked ? 'content_filter' : mapFinishReason(candidate?.finishReason, toolCalls.length > 0),
      },
    ],
    ...(usage ? { usage: fromGeminiUsage(usage) } : {}),
  };
}
