import { ProviderError, STREAM_INTERRUPTED } from '../provider-error.ts';
import { BODY_SCAN_CHARS, classifyHttpError, type RequestRefusalTest } from './classify-error.ts';
import type { HttpClient } from './http-client.ts';
import { createSseParser, type SseBatch, type SseEvent } from './sse.ts';

export interface EventStreamOptions {
  body: unknown;
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** The wire format's test for a 403 about the request rather than the key. */
  refusesRequest?: RequestRefusalTest;
  /** This call's limit instead of the client's; it bounds the whole stream. */
  timeoutMs?: number | undefined;
  /** The largest event accepted (see `createSseParser`). */
  maxEventChars?: number;
  /**
   * The format's end marker (OpenAI's `data: [DONE]`): the events stop there, and a body that ends
   * before it is a retryable error, as its output may be truncated. Without one, the events last
   * until the body ends.
   */
  end?: { name: string; test(event: SseEvent): boolean };
}

/** Reads at most `limit` characters of an error body: classifying reads a prefix only, and an error body may be a stream. */
async function readPrefix(body: AsyncIterable<Uint8Array>, limit: number): Promise<string> {
  const decoder = new TextDecoder('utf-8');
  let text = '';
  for await (const bytes of body) {
    text += decoder.decode(bytes, { stream: true });
    if (text.length >= limit) return text.slice(0, limit);
  }
  return text + decoder.decode();
}

/** Yields a read's events up to the end marker and says whether it came; past it nothing counts, a refused event included. */
function* untilEnd(batch: SseBatch, end: EventStreamOptions['end']): Generator<SseEvent[], boolean> {
  const cut = end ? batch.events.findIndex((event) => end.test(event)) : -1;
  const events = cut === -1 ? batch.events : batch.events.slice(0, cut);
  if (events.length > 0) yield events;
  if (cut !== -1) return true;
  if (batch.failure) throw batch.failure;
  return false;
}

/**
 * One streamed HTTP attempt (POST, JSON body) read as server-sent events, handed over a network
 * read at a time: every event the read completed, in order (never an empty array). A non-2xx answer
 * throws the ProviderError `complete` would (classified from the start of its body). The request
 * ends when the caller stops reading, whether at the end, early, or on an error.
 */
export async function* openEventBatches(http: HttpClient, provider: string, path: string, options: EventStreamOptions): AsyncGenerator<SseEvent[]> {
  const response = await http.stream('POST', path, {
    body: JSON.stringify(options.body),
    headers: options.headers,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  let ended = false;
  try {
    if (response.status < 200 || response.status >= 300) {
      const body = await readPrefix(response.body, BODY_SCAN_CHARS * 4);
      throw classifyHttpError(provider, { status: response.status, headers: response.headers, body }, options.refusesRequest);
    }
    const parser = createSseParser(options.maxEventChars === undefined ? { provider } : { provider, maxEventChars: options.maxEventChars });
    for await (const bytes of response.body) {
      ended = yield* untilEnd(parser.push(bytes), options.end);
      if (ended) return;
    }
    ended = yield* untilEnd(parser.end(), options.end);
    if (ended) return;
    if (options.end) throw new ProviderError(`${provider}: stream ended without ${options.end.name}`, { kind: 'retryable', provider, status: response.status });
  } finally {
    response.close({ drain: ended });
  }
}

/** The error a stream that had already yielded chunks fails with (see `ProviderAdapter.stream`). */
export function interruptedError(provider: string, error: unknown): ProviderError {
  const cause = error instanceof ProviderError ? error : null;
  const status = cause?.status ?? null;
  if (cause?.kind === 'canceled') {
    return new ProviderError(cause.message, { kind: 'canceled', provider, status, afterFirstChunk: true, cause: error });
  }
  const message = `${provider}: stream interrupted: ${cause ? cause.message.replace(`${provider}: `, '') : String(error)}`;
  const kind = cause?.kind === 'timeout' ? 'timeout' : 'retryable';
  return new ProviderError(message, { kind, provider, status, code: STREAM_INTERRUPTED, afterFirstChunk: true, body: cause?.body, cause: error });
}

/**
 * Passes `source` through, turning any failure after its first item into the interrupted error:
 * before it, a failure is the call's classified one, and a retry starts clean; after it, the
 * caller holds partial output a retry cannot continue.
 */
export async function* markInterruptions<T>(provider: string, source: AsyncIterable<T>): AsyncGenerator<T> {
  let started = false;
  try {
    for await (const item of source) {
      started = true;
      yield item;
    }
  } catch (error) {
    throw started ? interruptedError(provider, error) : error;
  }
}
