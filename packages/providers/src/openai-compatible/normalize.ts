import type { ChatCompletion } from '@sluice/shared';
import { mapFinishReason } from './finish-reason.ts';
import type { OpenAIChatResponse } from './wire-schemas.ts';

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
    ...(usage
      ? { usage: { ...usage, total_tokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens } }
      : {}),
    ...(response.system_fingerprint !== undefined ? { system_fingerprint: response.system_fingerprint } : {}),
  };
}
