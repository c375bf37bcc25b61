import type { ChatCompletion, Usage } from '@sluice/shared';
import { mapFinishReason } from './finish-reason.ts';
import type { OpenAIChatResponse } from './wire-schemas.ts';

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** A details object with its one count Sluice prices checked: absent when the server sent none (or `null`), the count 0 when it sent another shape. */
function detailsWith<K extends string>(raw: unknown, key: K): (Record<string, unknown> & Record<K, number>) | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const details = raw as Record<string, unknown>;
  return { ...details, [key]: isCount(details[key]) ? details[key] : 0 } as Record<string, unknown> & Record<K, number>;
}

/**
 * OpenAI's usage passes through, details included (cached prompt tokens, reasoning tokens);
 * servers that copy the shape loosely (`null` details, missing counts) are brought to it.
 */
export function normalizeOpenAIUsage(usage: NonNullable<OpenAIChatResponse['usage']>): Usage {
  const { prompt_tokens_details: promptRaw, completion_tokens_details: completionRaw, ...rest } = usage;
  const promptDetails = detailsWith(promptRaw, 'cached_tokens');
  const completionDetails = detailsWith(completionRaw, 'reasoning_tokens');
  return {
    ...rest,
    total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(promptDetails ? { prompt_tokens_details: promptDetails } : {}),
    ...(completionDetails ? { completion_tokens_details: completionDetails } : {}),
  };
}

/** Normalizes an OpenAI-shaped reply into a strict `chat.completion`. */
export function normalizeOpenAIResponse(response: OpenAIChatResponse, requestedModel: string): ChatCompletion {
  const usage = response.usage ?? null;
  return {
    id: response.id ?? `chatcmpl-${Date.now().toString(36)}`,
    object: 'chat.completion',
    created: Math.floor(response.created ?? Date.now() / 1000),
    model: response.model ?? requestedModel,
    choices: response.choices.map((choice, index) => ({
      index: choice.index ?? index,
      message: {
        role: 'assistant',
        content: choice.message.content ?? null,
        ...(choice.message.tool_calls && choice.message.tool_calls.length > 0
          ? { tool_calls: choice.message.tool_calls.map((call) => ({ id: call.id, type: 'function' as const, function: { name: call.function.name, arguments: call.function.arguments } })) }
          : {}),
        ...(choice.message.refusal ? { refusal: choice.message.refusal } : {}),
      },
      finish_reason: mapFinishReason(choice.finish_reason),
      ...(choice.logprobs !== undefined ? { logprobs: choice.logprobs } : {}),
    })),
    ...(usage ? { usage: normalizeOpenAIUsage(usage) } : {}),
    ...(response.system_fingerprint !== undefined ? { system_fingerprint: response.system_fingerprint } : {}),
  };
}
