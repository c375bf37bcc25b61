import type { ChatCompletionChunk, ToolCallDelta } from '@sluice/shared';
import { ProviderError } from '../provider-error.ts';
import { embeddedErrorMessage, withheldMessage } from '../http/classify-error.ts';
import { mapFinishReason } from './finish-reason.ts';
import { normalizeOpenAIUsage } from './normalize.ts';
import { OpenAIChunkSchema, type OpenAIChunk } from './wire-schemas.ts';

type WireToolCall = NonNullable<NonNullable<NonNullable<OpenAIChunk['choices']>[number]['delta']>['tool_calls']>[number];

/** What every chunk of one stream shares when the server leaves it out. */
export interface ChunkDefaults {
  id: string;
  created: number;
  model: string;
}

function toolCallDelta(call: WireToolCall): ToolCallDelta {
  const fn = call.function;
  return {
    index: call.index,
    ...(call.id ? { id: call.id } : {}),
    ...(call.type ? { type: 'function' as const } : {}),
    ...(fn ? { function: { ...(fn.name ? { name: fn.name } : {}), ...(typeof fn.arguments === 'string' ? { arguments: fn.arguments } : {}) } } : {}),
  };
}

function toChoice(choice: NonNullable<OpenAIChunk['choices']>[number], position: number): ChatCompletionChunk['choices'][number] {
  const delta = choice.delta ?? {};
  const calls = delta.tool_calls ?? [];
  return {
    index: choice.index ?? position,
    delta: {
      ...(delta.role ? { role: 'assistant' as const } : {}),
      ...(delta.content !== undefined ? { content: delta.content } : {}),
      ...(typeof delta.refusal === 'string' ? { refusal: delta.refusal } : {}),
      ...(calls.length > 0 ? { tool_calls: calls.map(toolCallDelta) } : {}),
    },
    finish_reason: mapFinishReason(choice.finish_reason),
    ...(choice.logprobs !== undefined ? { logprobs: choice.logprobs } : {}),
  };
}

/** An error object (or `event: error`) in the stream: the provider failed after its 200 (its text withheld when it is about credentials). */
export function streamErrorEvent(provider: string, data: string): ProviderError {
  const text = embeddedErrorMessage(data);
  return new ProviderError(`${provider}: error event in the stream: ${text ?? withheldMessage('authentication or permission error')}`, {
    kind: 'retryable', provider, status: 200, ...(text === null ? {} : { body: data }),
  });
}

/**
 * Reads one `data:` payload as a strict `chat.completion.chunk`. Bad JSON, an `{"error": ...}`
 * object, or another shape throw ProviderError (retryable: a new attempt may stream cleanly).
 */
export function normalizeChunk(provider: string, data: string, defaults: ChunkDefaults): ChatCompletionChunk {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch (error) {
    throw new ProviderError(`${provider}: stream event is not JSON`, { kind: 'retryable', provider, status: 200, body: data, cause: error });
  }
  if (typeof json === 'object' && json !== null && 'error' in json && (json as { error: unknown }).error) throw streamErrorEvent(provider, data);
  const parsed = OpenAIChunkSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProviderError(`${provider}: malformed stream chunk: ${issue?.path.join('.')} ${issue?.message}`, { kind: 'retryable', provider, status: 200, body: data });
  }
  const chunk = parsed.data;
  return {
    id: chunk.id ?? defaults.id,
    object: 'chat.completion.chunk',
    created: Math.floor(chunk.created ?? defaults.created),
    model: chunk.model ?? defaults.model,
    ...(chunk.system_fingerprint !== undefined ? { system_fingerprint: chunk.system_fingerprint } : {}),
    choices: (chunk.choices ?? []).map(toChoice),
    usage: chunk.usage ? normalizeOpenAIUsage(chunk.usage) : null,
  };
}
