import type { ChatCompletion, Logger } from '@sluice/shared';
import type { ChatRequest } from '@sluice/shared';

export interface CallOptions {
  /** Aborts the HTTP request: job canceled or worker shutting down. */
  signal?: AbortSignal;
  logger?: Logger;
}

export interface CompletionResult {
  completion: ChatCompletion;
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
  /** The cheapest real request that proves the provider answers; throws ProviderError when it does not. */
  probe(options?: CallOptions): Promise<void>;
  /** Releases connection pools. */
  close(): Promise<void>;
}
