import { ProviderError, type ProviderErrorKind } from '../provider-error.ts';
import { parseRetryAfter, type Headers } from './retry-after.ts';

/**
 * How much of a body the patterns here, and each wire format's refusal test, read. A body can be
 * large and can quote the request back (flagged input), so every pattern sees this prefix only and
 * has no nested quantifiers: classifying one error costs linear, bounded time.
 */
export const BODY_SCAN_CHARS = 4096;
/** The longest provider message an error carries (attempt records are read by tenants and kept). */
const MESSAGE_CHARS = 500;

const CONTEXT_LENGTH = /context_length_exceeded|maximum context length|context window|prompt is too long|too many tokens|input is too long|exceeds the (model'?s )?(maximum|context)|exceeds the maximum number of tokens/i;
const QUOTA = /insufficient_quota|billing/i;
/**
 * OpenAI's answer when its flex tier has no capacity: 429 "Resource Unavailable" (not charged). Its
 * exact code string is undocumented, so the words are matched in either spelling, and only on a 429.
 */
const FLEX_UNAVAILABLE = /resource[_ ]unavailable/i;
/** An error object inside a 2xx body that is about credentials: a 401/403 code, or words that name them. */
const EMBEDDED_AUTH = /"code"\s*:\s*"?40[13]\b|api[ _-]?key|auth|permission|credential/i;
const WITHHELD = "the provider's message is withheld: it may echo the key";

/**
 * Whether a 403 body says the provider refused this one request (flagged input, a file or model
 * the key may not use) rather than the key itself. Each wire format's folder supplies its own; it
 * is given at most {@link BODY_SCAN_CHARS} characters of the body.
 */
export type RequestRefusalTest = (bodyStart: string) => boolean;

const refusesNothing: RequestRefusalTest = () => false;

/** Pulls a human message out of the common error shapes (`{error: {message}}`, `{error: "..."}`, `{message}`), cut to 500 characters. */
export function errorMessage(body: string): string {
  try {
    const parsed = JSON.parse(body) as { error?: { message?: unknown } | string; message?: unknown };
    if (typeof parsed.error === 'string') return parsed.error.slice(0, MESSAGE_CHARS);
    if (parsed.error && typeof parsed.error.message === 'string') return parsed.error.message.slice(0, MESSAGE_CHARS);
    if (typeof parsed.message === 'string') return parsed.message.slice(0, MESSAGE_CHARS);
  } catch {
    // not JSON: fall through to the raw text
  }
  return body.slice(0, 200);
}

/**
 * The message for an error object a 2xx body carries (proxies, and OpenRouter once a model has
 * started, answer 200 with one), or `null` when it is about credentials and is withheld like a 401's.
 */
export function embeddedErrorMessage(body: string): string | null {
  return EMBEDDED_AUTH.test(body.slice(0, BODY_SCAN_CHARS)) ? null : errorMessage(body);
}

/** The message of an error whose provider text is withheld. */
export const withheldMessage = (what: string): string => `${what} (${WITHHELD})`;

/** A 429 is about the quota (the key), the flex tier's capacity, or else the provider's rate limits. */
function rateLimitKind(head: string): ProviderErrorKind {
  if (QUOTA.test(head)) return 'auth';
  return FLEX_UNAVAILABLE.test(head) ? 'flex_unavailable' : 'rate_limited';
}

/**
 * Maps a non-2xx provider response to the error the worker acts on. A 401, and a 403 that
 * `refusesRequest` does not claim, say the key is wrong for every job: kind `auth`, which opens the
 * provider's circuit. A 403 it claims is about this request alone: kind `fatal` with code
 * `provider_refused_request`, so one tenant's input cannot open the circuit for all.
 */
export function classifyHttpError(
  provider: string,
  response: { status: number; headers: Headers; body: string },
  refusesRequest: RequestRefusalTest = refusesNothing,
): ProviderError {
  const { status, headers, body } = response;
  const head = body.slice(0, BODY_SCAN_CHARS);
  const retryAfterMs = parseRetryAfter(headers);
  if (status === 401 || (status === 403 && !refusesRequest(head))) {
    // Neither the provider's text nor its body is kept: both reach tenants' attempt records and the
    // logs, and some quote the key (OpenAI's 401: "Incorrect API key provided: sk-...abcd").
    const what = withheldMessage(status === 401 ? 'authentication failed' : 'permission denied');
    return new ProviderError(`${provider}: HTTP ${status}: ${what}`, { kind: 'auth', provider, status, retryAfterMs });
  }
  if (status === 403) {
    // Tenants read this; the operator's project and organization ids are not theirs to see.
    const message = errorMessage(body).replace(/\b(proj|org)[_-][A-Za-z0-9]+/g, '$1_…');
    return new ProviderError(`${provider}: HTTP 403: ${message}`, { kind: 'fatal', code: 'provider_refused_request', provider, status, retryAfterMs, body });
  }
  let kind: ProviderErrorKind;
  if (status === 429) kind = rateLimitKind(head);
  else if (status === 408 || status === 409 || status === 425 || status >= 500) kind = 'retryable';
  else if (CONTEXT_LENGTH.test(head)) kind = 'context_length';
  else kind = 'fatal';
  return new ProviderError(`${provider}: HTTP ${status}: ${errorMessage(body)}`, { kind, provider, status, retryAfterMs, body });
}
