import { SluiceError } from '@sluice/shared';

/**
 * How the worker treats a failed provider call:
 * `fatal` fails the job (bad request); `context_length` fails over to a target with a larger window;
 * `auth` opens the provider's circuit; `rate_limited` waits without spending an attempt;
 * `retryable`/`timeout` retry with backoff; `canceled` means the job was canceled;
 * `flex_unavailable` is a 429 saying the provider's flex tier has no capacity for now: retryable
 * like `retryable`, but about the tier, not the provider's health or its rate limits (it pauses
 * no queue and counts against no circuit).
 */
export type ProviderErrorKind = 'fatal' | 'context_length' | 'auth' | 'rate_limited' | 'retryable' | 'timeout' | 'canceled' | 'flex_unavailable';

const RETRYABLE_KINDS: ReadonlySet<ProviderErrorKind> = new Set(['retryable', 'timeout', 'rate_limited', 'flex_unavailable']);

export interface ProviderErrorOptions {
  kind: ProviderErrorKind;
  provider: string;
  /** HTTP status, or null when no response came (network, timeout). */
  status: number | null;
  /** From `retry-after-ms`, `retry-after` or `x-ratelimit-reset-*`, when the provider said. */
  retryAfterMs?: number | null;
  /** The response body, truncated, for the job's attempt record. */
  body?: string;
  /** A code more precise than the default `provider_${kind}`, e.g. `provider_refused_request`; the job's error carries it. */
  code?: string;
  /** A stream that failed after yielding at least one chunk (see {@link ProviderError.afterFirstChunk}). Default false. */
  afterFirstChunk?: boolean;
  cause?: unknown;
}

/** The code of a stream that broke after its first chunk: cut, an error event, a timeout, a bad event. */
export const STREAM_INTERRUPTED = 'stream_interrupted';

const BODY_LIMIT = 500;

export class ProviderError extends SluiceError {
  readonly kind: ProviderErrorKind;
  readonly provider: string;
  readonly status: number | null;
  readonly retryAfterMs: number | null;
  readonly body: string | undefined;
  /**
   * True when a stream failed after the caller had chunks: a retry cannot resume it, so the engine
   * must discard (or has already forwarded) the partial output. The kind still says whether a
   * fresh attempt may succeed; the code is `stream_interrupted` unless the call was canceled.
   */
  readonly afterFirstChunk: boolean;

  constructor(message: string, options: ProviderErrorOptions) {
    super(message, { code: options.code ?? `provider_${options.kind}`, retryable: RETRYABLE_KINDS.has(options.kind), cause: options.cause });
    this.name = 'ProviderError';
    this.kind = options.kind;
    this.provider = options.provider;
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.afterFirstChunk = options.afterFirstChunk ?? false;
    this.body = options.body === undefined ? undefined : options.body.slice(0, BODY_LIMIT);
  }
}
