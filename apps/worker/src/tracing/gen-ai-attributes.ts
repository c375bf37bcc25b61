// The GenAI attributes of a provider call's span (OpenTelemetry GenAI semantic conventions). The
// package marks these names deprecated only because the GenAI conventions moved to a repository of
// their own; the names are the current ones.
import {
  ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT,
  ATTR_GEN_AI_INPUT_MESSAGES,
  ATTR_GEN_AI_OPERATION_NAME,
  ATTR_GEN_AI_OUTPUT_MESSAGES,
  ATTR_GEN_AI_PROVIDER_NAME,
  ATTR_GEN_AI_REQUEST_MAX_TOKENS,
  ATTR_GEN_AI_REQUEST_MODEL,
  ATTR_GEN_AI_REQUEST_SEED,
  ATTR_GEN_AI_REQUEST_STREAM,
  ATTR_GEN_AI_REQUEST_TEMPERATURE,
  ATTR_GEN_AI_REQUEST_TOP_P,
  ATTR_GEN_AI_RESPONSE_FINISH_REASONS,
  ATTR_GEN_AI_RESPONSE_ID,
  ATTR_GEN_AI_RESPONSE_MODEL,
  ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK,
  ATTR_GEN_AI_SYSTEM,
  ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_INPUT_TOKENS,
  ATTR_GEN_AI_USAGE_OUTPUT_TOKENS,
  ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
  GEN_AI_OPERATION_NAME_VALUE_CHAT,
  GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS,
} from '@opentelemetry/semantic-conventions/incubating';
import type { CompletionResult, EmbeddingResult } from '@sluice/providers';
import type { ChatCompletion, ChatMessage, SpanAttributes } from '@sluice/shared';
import type { JobRecord } from '@sluice/engine';
import { serverAttributes } from './server-attributes.ts';

/** `chat` or `embeddings`: the span is named `<operation> <model>`. */
export const operationOf = (record: JobRecord): string =>
  record.request.endpoint === '/v1/embeddings' ? GEN_AI_OPERATION_NAME_VALUE_EMBEDDINGS : GEN_AI_OPERATION_NAME_VALUE_CHAT;

const numberOf = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) ? value : undefined);

type Part = Record<string, unknown>;

/** A message's content as the conventions' parts: text parts with their text, other parts by their type only. */
function partsOf(content: ChatMessage['content'] | null | undefined): Part[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return [{ type: 'text', content }];
  return content.map((part) => (part.type === 'text' ? { type: 'text', content: part.text } : { type: part.type }));
}

/** A chat message in the conventions' shape (`{role, parts}`), for `gen_ai.input.messages` and `gen_ai.output.messages`. */
function conventionMessage(message: ChatMessage): Part {
  if (message.role === 'tool') return { role: 'tool', parts: [{ type: 'tool_call_response', id: message.tool_call_id, response: message.content }] };
  const calls = message.role === 'assistant' ? (message.tool_calls ?? []) : [];
  return { role: message.role, parts: [...partsOf(message.content), ...calls.map((call) => ({ type: 'tool_call', id: call.id, name: call.function.name, arguments: call.function.arguments }))] };
}

const outputMessages = (completion: ChatCompletion): string =>
  JSON.stringify(completion.choices.map((choice) => ({ ...conventionMessage(choice.message as ChatMessage), finish_reason: choice.finish_reason })));

/** Each provider's place, by its `base_url`: parsed once, not at every call. */
const servers = new Map<string, SpanAttributes>();

/** Where the provider is, from its `base_url`. */
function serverOf(baseUrl: string | undefined): SpanAttributes {
  if (baseUrl === undefined) return {};
  let server = servers.get(baseUrl);
  if (server === undefined) {
    server = serverAttributes(new URL(baseUrl));
    servers.set(baseUrl, server);
  }
  return server;
}

export interface RequestFacts {
  record: JobRecord;
  /** The vendor (`gen_ai.provider.name`): the provider type's, or the provider's id. */
  vendor: string;
  model: string;
  baseUrl: string | undefined;
  /** Prompts may go on the span (`log_content: true`). */
  content: boolean;
}

/** What the span says of the request: operation, vendor, model, parameters; the messages only with `log_content`. */
export function requestAttributes({ record, vendor, model, baseUrl, content }: RequestFacts): SpanAttributes {
  const params = record.request.params;
  return {
    [ATTR_GEN_AI_OPERATION_NAME]: operationOf(record),
    [ATTR_GEN_AI_PROVIDER_NAME]: vendor,
    // The name the GenAI conventions used before `gen_ai.provider.name`, for backends that read it.
    [ATTR_GEN_AI_SYSTEM]: vendor,
    [ATTR_GEN_AI_REQUEST_MODEL]: model,
    [ATTR_GEN_AI_REQUEST_MAX_TOKENS]: numberOf(params.max_completion_tokens ?? params.max_tokens),
    [ATTR_GEN_AI_REQUEST_TEMPERATURE]: numberOf(params.temperature),
    [ATTR_GEN_AI_REQUEST_TOP_P]: numberOf(params.top_p),
    [ATTR_GEN_AI_REQUEST_SEED]: numberOf(params.seed),
    [ATTR_GEN_AI_REQUEST_STREAM]: record.stream === null ? undefined : true,
    [ATTR_GEN_AI_INPUT_MESSAGES]: content && record.request.input === undefined ? JSON.stringify(record.request.messages.map(conventionMessage)) : undefined,
    ...serverOf(baseUrl),
  };
}

/** What the span says of the answer: model, id, finish reasons, tokens; the text only with `log_content`. */
export function answerAttributes(answer: CompletionResult | EmbeddingResult, content: boolean): SpanAttributes {
  if ('vectors' in answer) {
    return {
      [ATTR_GEN_AI_RESPONSE_MODEL]: answer.model,
      [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: answer.usage.prompt_tokens,
      [ATTR_GEN_AI_EMBEDDINGS_DIMENSION_COUNT]: answer.vectors[0]?.length,
    };
  }
  const { completion } = answer;
  const usage = completion.usage;
  return {
    [ATTR_GEN_AI_RESPONSE_MODEL]: completion.model,
    [ATTR_GEN_AI_RESPONSE_ID]: completion.id,
    [ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: completion.choices.flatMap((choice) => (choice.finish_reason === null ? [] : [choice.finish_reason])),
    [ATTR_GEN_AI_USAGE_INPUT_TOKENS]: usage?.prompt_tokens,
    [ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: usage?.completion_tokens,
    [ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: usage?.prompt_tokens_details?.cached_tokens,
    [ATTR_GEN_AI_USAGE_REASONING_OUTPUT_TOKENS]: usage?.completion_tokens_details?.reasoning_tokens,
    [ATTR_GEN_AI_OUTPUT_MESSAGES]: content ? outputMessages(completion) : undefined,
  };
}

/** A streamed call's time to its first chunk, in seconds. */
export const firstChunkAttributes = (firstChunkMs: number | null): SpanAttributes =>
  firstChunkMs === null ? {} : { [ATTR_GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK]: firstChunkMs / 1000 };
