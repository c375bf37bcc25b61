import type { ChatCompletion, ChatCompletionChunk, EmbeddingRequest, EmbeddingUsage, Logger } from '@sluice/shared';
import type { ChatRequest } from '@sluice/shared';
import type { ProviderError } from './provider-error.ts';

export interface CallOptions {
  /** Aborts the HTTP request: job canceled or worker shutting down. */
  signal?: AbortSignal;
  logger?: Logger;
  /**
   * Headers this call adds to its requests: the trace context (`traceparent`, `tracestate`) when
   * tracing is on. Adapters send them on the calls of `complete`, `stream`, `embed` and the batch
   * API's `submit`, `status` and `results`.
   */
  headers?: Readonly<Record<string, string>>;
}

/** An adapter's own headers and the call's (`CallOptions.headers`); the same object when the call adds none. */
export const callHeaders = (own: Record<string, string>, call: CallOptions): Record<string, string> => (call.headers === undefined ? own : { ...own, ...call.headers });

export interface CompletionResult {
  completion: ChatCompletion;
  /** The provider's HTTP status (200 for the mock). */
  statusCode: number;
}

/** The answer of one embeddings call: a vector per input, in input order. */
export interface EmbeddingResult {
  vectors: number[][];
  /** The model the provider says answered (the one asked for when it does not say). */
  model: string;
  usage: EmbeddingUsage;
  /** True when the provider reported no token usage and `usage` is Sluice's estimate of the input. */
  usageEstimated: boolean;
  /** The provider's HTTP status (200 for the mock). */
  statusCode: number;
}

/**
 * One provider deployment speaking one wire format. `complete` makes exactly one HTTP attempt and
 * throws ProviderError on failure; retries, backoff and failover belong to the worker.
 */
export interface ProviderAdapter {
  /** The provider id from config (`openai`, `local`). */
  readonly id: string;
  /** The wire format (`openai-compatible`, `mock`). */
  readonly type: string;
  complete(request: ChatRequest, options?: CallOptions): Promise<CompletionResult>;
  /**
   * The completion as it is generated, one `chat.completion.chunk` at a time, from exactly one HTTP
   * attempt (optional until every wire format streams). `assembleCompletion` of the chunks equals
   * what `complete` would have returned.
   *
   * Errors, always a ProviderError:
   * - before the first chunk: classified exactly as `complete` classifies them (a non-2xx status,
   *   network, timeout, an error object or a cut in place of the first event: retryable);
   * - after it: `afterFirstChunk: true` and code `stream_interrupted` (kind `retryable`, or
   *   `timeout`), for a provider error event, a body that ends without the format's end marker
   *   (OpenAI's `[DONE]`), an unreadable or oversized event, or the connection breaking. A stream
   *   without its end marker is never a success: its output may be truncated.
   * - the signal aborting: kind `canceled` (with `afterFirstChunk` saying whether chunks came).
   *
   * The last chunk carries `usage` when the provider reports it: adapters ask for it
   * (OpenAI's `stream_options.include_usage`). The call's timeout bounds the whole stream, as it
   * bounds a whole `complete`. Aborting the signal, or leaving the loop early, ends the HTTP request.
   */
  stream?(request: ChatRequest, options?: CallOptions): AsyncIterable<ChatCompletionChunk>;
  /**
   * Embeds the inputs, for types that can (`embeddings` in the type's definition). Throws
   * ProviderError classified as `complete` does. One call, one HTTP attempt, except where the
   * provider caps the inputs of a request below Sluice's limit: then consecutive requests, and the
   * first failure fails the call.
   */
  embed?(request: EmbeddingRequest, options?: CallOptions): Promise<EmbeddingResult>;
  /** The cheapest real request that proves the provider answers; throws ProviderError when it does not. */
  probe(options?: CallOptions): Promise<void>;
  /** The provider's batch API, for types that have one (half price for work that can wait). */
  readonly batch?: BatchAdapter;
  /** Releases connection pools. */
  close(): Promise<void>;
}

/** One request of a provider batch: Sluice's id for it (unique in the batch) and the chat request. */
export interface BatchRequest {
  custom_id: string;
  request: ChatRequest;
}

/**
 * Where a provider batch stands, in the provider-neutral words Sluice acts on: `in_progress` until
 * the provider stops working on it; then `completed`, `expired` (its window passed: finished lines
 * have results, the rest expired), `canceled`, or `failed` as a whole (none of its lines ran).
 */
export interface ProviderBatchStatus {
  id: string;
  state: 'in_progress' | 'completed' | 'expired' | 'canceled' | 'failed';
  /** Lines the provider reports done so far, when it says. */
  counts: { total: number; succeeded: number; errored: number } | null;
  /** Why a batch failed as a whole (`state: failed`). */
  error: string | null;
}

/** One result line of a provider batch, matched to its request by `custom_id`. */
export type BatchLineResult =
  | { custom_id: string; outcome: 'succeeded'; result: CompletionResult }
  /** The line failed as a real-time call would have: classified like one (fatal, retryable, context length, ...). */
  | { custom_id: string; outcome: 'errored'; error: ProviderError }
  /** The line never ran: its batch expired or was canceled first. */
  | { custom_id: string; outcome: 'expired' | 'canceled' };

/**
 * A provider's batch API, in one shape across wire formats. Every call makes one HTTP attempt (or
 * one per page) and throws ProviderError on failure. `key` is Sluice's label for a submission: it
 * travels with the provider batch, so after a crash `find(key)` returns the batch already submitted
 * instead of a second submission being made.
 */
export interface BatchAdapter {
  /** Submits `requests` as one provider batch labelled `key`; returns the provider's batch id. */
  submit(key: string, requests: readonly BatchRequest[], options?: CallOptions): Promise<string>;
  /** The id of the provider batch labelled `key`, or null when none was submitted. */
  find(key: string, options?: CallOptions): Promise<string | null>;
  status(id: string, options?: CallOptions): Promise<ProviderBatchStatus>;
  /** Every result line of a batch that is no longer `in_progress`. */
  results(id: string, options?: CallOptions): AsyncIterable<BatchLineResult>;
  /** Asks the provider to stop the batch; its finished lines keep their results. */
  cancel(id: string, options?: CallOptions): Promise<void>;
}
