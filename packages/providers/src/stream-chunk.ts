import type { FinishReason, Usage } from '@sluice/shared';

/** One tool call's piece in a chunk: `id`, `type` and `name` come once, then `arguments` fragments to append, keyed by `index`. */
export interface StreamToolCallDelta {
  /** The tool call's position among the tool calls of the message (0, 1, …), not the vendor's content-block slot. */
  index: number;
  id?: string;
  type?: 'function';
  function?: { name?: string; arguments?: string };
}

/** What one chunk adds to the assistant message. */
export interface StreamDelta {
  role?: 'assistant';
  content?: string;
  tool_calls?: StreamToolCallDelta[];
}

/**
 * An OpenAI `chat.completion.chunk`, as the stream converters produce it. It has the shape the
 * shared chunk schema describes, so the two can be swapped: `id` and `created` are equal on every
 * chunk, `usage` is null except on the last chunk (`choices: []`), which carries the totals.
 */
export interface StreamChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: number; delta: StreamDelta; finish_reason: FinishReason | null }[];
  usage?: Usage | null;
}

/**
 * An error the vendor sent inside a stream that had already answered 200. It carries the status
 * the same error has when it is an HTTP answer (an overloaded error is a 529), and the vendor's
 * error body, so the adapter classifies it as it classifies a real-time error of the same type
 * (`classifyHttpError(provider, failure)`), and wraps it in the ProviderError the worker acts on.
 */
export interface StreamFailure {
  status: number;
  headers: Record<string, string>;
  /** The vendor's error as JSON text (`{"type":"error","error":{…}}` or `{"error":{…}}`). */
  body: string;
  message: string;
}

/** What a stream converter returns for one event: the chunks to forward, then the failure that ends the stream, if the event was one. */
export interface StreamStep {
  chunks: StreamChunk[];
  failure?: StreamFailure;
}

/** How a stream ended: `complete` when the vendor's end was seen (no cut, no failure); `chunks` are the last to forward. */
export interface StreamEnd {
  complete: boolean;
  chunks: StreamChunk[];
}

/** The fields every chunk of one stream shares. */
export interface StreamIdentity {
  id: string;
  model: string;
  created: number;
}

/** A chunk with one choice (index 0) and no usage. */
export function deltaChunk(identity: StreamIdentity, delta: StreamDelta, finishReason: FinishReason | null = null): StreamChunk {
  return { ...identity, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finishReason }], usage: null };
}

/** The last chunk of a stream: no choices, the usage totals. */
export function usageChunk(identity: StreamIdentity, usage: Usage): StreamChunk {
  return { ...identity, object: 'chat.completion.chunk', choices: [], usage };
}

/** A failure for a stream whose events the converter cannot read; retryable like a malformed non-streamed body. */
export function malformedStream(message: string): StreamFailure {
  const body = JSON.stringify({ error: { type: 'malformed_stream', message } });
  return { status: 502, headers: {}, body, message: `malformed stream: ${message}` };
}
