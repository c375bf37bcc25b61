import { ProviderError, type ProviderErrorKind } from '../provider-error.ts';
import { parseRetryAfter, type Headers } from './retry-after.ts';

const CONTEXT_LENGTH = /context_length_exceeded|maximum context length|context window|prompt is too long|too many tokens|input is too long|exceeds the (model'?s )?(maximum|context)|exceeds the maximum number of tokens/i;
const QUOTA = /insufficient_quota|billing/i;

/** Pulls a human message out of the common error shapes (`{error: {message}}`, `{error: "..."}`, `{message}`). */
export function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') return parsed.error;
    if (parsed.error && typeof parsed.error.message === 'string') return parsed.error.message;
    if (typeof parsed.message === 'string') return parsed.message;
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 200);
}

/** Maps a non-2xx provider response to the error the worker acts on. */
export function classifyHttpError(provider: string, response: { status: number; headers: Headers; body: string }): ProviderError {
  const { status, headers, body } = response;
  let kind: ProviderErrorKind;
  if (status === 401 || status === 403) kind = 'auth';
  else if (status === 429) kind = QUOTA.test(body) ? 'auth' : 'rate_limited';
  else if (status === 408 || status === 409 || status === 425 || status >= 500) kind = 'retryable';
  else if (CONTEXT_LENGTH.test(body)) kind = 'context_length';
  else kind = 'fatal';
  return new ProviderError(`${provider}: HTTP ${status}: ${errorMessage(body)}`, {
    kind,
    provider,
    status,
    retryAfterMs: parseRetryAfter(headers),
    body,
  });
}
