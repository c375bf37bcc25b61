import type { ChatCompletionChunk, ToolCallDelta } from '@sluice/shared';
import { ProviderError } from '../provider-error.ts';
import { embeddedErrorMessage, withheldMessage } from '../http/classify-error.ts';
import { mapFinishReason } from './finish-reason.ts';
import { normalizeOpenAIUsage } from './normalize.ts';
import { isCommonChunk } from './chunk-shape.ts';
import { OpenAIChunkSchema, type OpenAIChunk } from './wire-schemas.ts';

type WireChoice = NonNullable<OpenAIChunk['choices']>[number];
type WireToolCall = NonNullable<NonNullable<WireChoice['delta']>['tool_calls']>[number];

/** What every chunk of one stream shares when the server leaves it out. */
export interface ChunkDefaults {
  id: string;
  created: number;
  model: string;
}

// Built by assignment in the order a spread would give: this runs for every token, and the keys'
// order is what a client sees in the JSON.

function toolCallDelta(call: WireToolCall): ToolCallDelta {
  const delta: ToolCallDelta = { index: call.index };
  if (call.id) delta.id = call.id;
  if (call.type) delta.type = 'function';
  const fn = call.function;
  if (fn) {
    const named: NonNullable<ToolCallDelta['function']> = {};
    if (fn.name) named.name = fn.name;
    if (typeof fn.arguments === 'string') named.arguments = fn.arguments;
    delta.function = named;
  }
  return delta;
}

function toChoice(choice: WireChoice, position: number): ChatCompletionChunk['choices'][number] {
  const wire = choice.delta;
  const delta: ChatCompletionChunk['choices'][number]['delta'] = {};
  if (wire) {
    if (wire.role) delta.role = 'assistant';
    if (wire.content !== undefined) delta.content = wire.content;
    if (typeof wire.refusal === 'string') delta.refusal = wire.refusal;
    if (wire.tool_calls && wire.tool_calls.length > 0) delta.tool_calls = wire.tool_calls.map(toolCallDelta);
  }
  const normalized: ChatCompletionChunk['choices'][number] = { index: choice.index ?? position, delta, finish_reason: mapFinishReason(choice.finish_reason) };
  if (choice.logprobs !== undefined) normalized.logprobs = choice.logprobs;
  return normalized;
}

/** An error object (or `event: error`) in the stream: the provider failed after its 200 (its text withheld when it is about credentials). */
export function streamErrorEvent(provider: string, data: string): ProviderError {
  const text = embeddedErrorMessage(data);
  return new ProviderError(`${provider}: error event in the stream: ${text ?? withheldMessage('authentication or permission error')}`, {
    kind: 'retryable', provider, status: 200, ...(text === null ? {} : { body: data }),
  });
}

/** A wire chunk as Sluice's `chat.completion.chunk`, with the stream's defaults for what it leaves out. */
export function chunkFromWire(chunk: OpenAIChunk, defaults: ChunkDefaults): ChatCompletionChunk {
  const id = chunk.id ?? defaults.id;
  const created = Math.floor(chunk.created ?? defaults.created);
  const model = chunk.model ?? defaults.model;
  const choices = (chunk.choices ?? []).map(toChoice);
  const usage = chunk.usage ? normalizeOpenAIUsage(chunk.usage) : null;
  const fingerprint = chunk.system_fingerprint;
  return fingerprint === undefined
    ? { id, object: 'chat.completion.chunk', created, model, choices, usage }
    : { id, object: 'chat.completion.chunk', created, model, system_fingerprint: fingerprint, choices, usage };
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
  if (isCommonChunk(json)) return chunkFromWire(json, defaults);
  const parsed = OpenAIChunkSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ProviderError(`${provider}: malformed stream chunk: ${issue?.path.join('.')} ${issue?.message}`, { kind: 'retryable', provider, status: 200, body: data });
  }
  return chunkFromWire(parsed.data, defaults);
}
