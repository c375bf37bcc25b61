import { StringDecoder } from 'node:string_decoder';
import { ProviderError } from '../provider-error.ts';

/** One server-sent event: its `event:` name when it had one, and its `data:` lines joined by `\n`. */
export interface SseEvent {
  event?: string;
  data: string;
}

export interface SseOptions {
  /** Provider id, for errors. */
  provider: string;
  /**
   * The largest event accepted, in characters (its `data:` lines and any unfinished line). Larger
   * ones are refused rather than buffered: a broken or hostile server could otherwise fill memory
   * with one endless line. Default 1,000,000.
   */
  maxEventChars?: number;
}

/** The events one read completed, in order; `failure` when an event went over the limit (the events before it are still given, and nothing after it is read). */
export interface SseBatch {
  events: SseEvent[];
  failure?: ProviderError;
}

/**
 * Server-sent events read incrementally: bytes in (any split: lines, and UTF-8 characters, may
 * straddle reads), the events they complete out, a whole read at a time so that a fast stream
 * costs one hand-over per network read rather than one per event.
 */
export interface SseParser {
  push(bytes: Uint8Array): SseBatch;
  /** The body ended: its unterminated last line, then the event it leaves open. */
  end(): SseBatch;
}

const DEFAULT_MAX_EVENT_CHARS = 1_000_000;
const LF = 10;
const CR = 13;
const COLON = 58;
const SPACE = 32;

/** The event being built: `data` null until its first `data:` line; `size` counts data lines as the limit does. */
interface EventParts {
  event: string | undefined;
  data: string | null;
  size: number;
}

/** The value of a field starting at `from` (one leading space stripped), up to `end`. */
function fieldValue(text: string, from: number, end: number): string {
  return text.slice(from < end && text.charCodeAt(from) === SPACE ? from + 1 : from, end);
}

/** Applies the line `text[start, end)` to the event being built; returns the event when the line is the blank one ending it. */
function applyLine(parts: EventParts, text: string, start: number, end: number): SseEvent | null {
  if (start === end) {
    const done: SseEvent | null = parts.data === null ? null : parts.event !== undefined ? { event: parts.event, data: parts.data } : { data: parts.data };
    parts.event = undefined;
    parts.data = null;
    parts.size = 0;
    return done;
  }
  if (text.charCodeAt(start) === COLON) return null; // a comment: servers send them as keep-alives
  let colon = text.indexOf(':', start);
  if (colon === -1 || colon >= end) colon = end;
  const field = text.slice(start, colon);
  const value = colon === end ? '' : fieldValue(text, colon + 1, end);
  if (field === 'data') {
    parts.data = parts.data === null ? value : `${parts.data}\n${value}`;
    parts.size += value.length + 1;
  } else if (field === 'event') {
    parts.event = value;
  }
  // `id:` and `retry:` matter to browsers reconnecting; one attempt never reconnects.
  return null;
}

/**
 * Applies every complete line of `text` to the event being built: the events completed, and the
 * unfinished line left over. Stops at the first line that takes an event over the limit.
 */
function scanLines(parts: EventParts, text: string, final: boolean, refuse: (pending: number) => ProviderError | undefined): SseBatch & { rest: string } {
  const events: SseEvent[] = [];
  let start = 0;
  // Each search starts where the last line ended, and is only repeated once passed: a read of many lines is scanned once.
  let lf = text.indexOf('\n');
  let cr = text.indexOf('\r');
  for (;;) {
    if (lf !== -1 && lf < start) lf = text.indexOf('\n', start);
    if (cr !== -1 && cr < start) cr = text.indexOf('\r', start);
    const at = cr === -1 || (lf !== -1 && lf < cr) ? lf : cr;
    if (at === -1) break;
    // A `\r` last in the text may be half of a `\r\n` split across reads: wait for the next one.
    if (at === cr && at + 1 === text.length && !final) break;
    const event = applyLine(parts, text, start, at);
    start = at === cr && text.charCodeAt(at + 1) === LF ? at + 2 : at + 1;
    const failure = refuse(0);
    if (failure) return { events, failure, rest: '' };
    if (event) events.push(event);
  }
  const rest = start === 0 ? text : text.slice(start);
  const failure = refuse(rest.length);
  return failure ? { events, failure, rest } : { events, rest };
}

/**
 * Reads server-sent events: lines end in `\n`, `\r\n` or `\r`; a blank line ends an event;
 * comments and fields other than `data` and `event` are skipped. An event left open when the body
 * ends is still given (a last `[DONE]` without its blank line); whether the stream was complete is
 * the wire format's question. An event over the size limit is refused with a retryable ProviderError.
 */
export function createSseParser(options: SseOptions): SseParser {
  const limit = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  // StringDecoder keeps a character split across reads, like TextDecoder's `stream` mode, at a
  // fraction of its cost per read on Node 20; the byte-order mark TextDecoder drops is dropped by hand.
  const decoder = new StringDecoder('utf8');
  const parts: EventParts = { event: undefined, data: null, size: 0 };
  let buffer = '';
  let started = false;
  const refuse = (pending: number): ProviderError | undefined =>
    parts.size + pending <= limit ? undefined : new ProviderError(`${options.provider}: stream event over ${limit} characters`, { kind: 'retryable', provider: options.provider, status: 200 });
  const decoded = (text: string): string => {
    if (started || text === '') return text;
    started = true;
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };
  const scan = (text: string, final: boolean): SseBatch => {
    const { rest, ...batch } = scanLines(parts, text, final, refuse);
    buffer = rest;
    return batch;
  };

  return {
    push: (bytes) => scan(buffer + decoded(decoder.write(bytes)), false),
    end() {
      const batch = scan(buffer + decoded(decoder.end()), true);
      if (batch.failure) return batch;
      if (buffer !== '') applyLine(parts, buffer, 0, buffer.length);
      const open = applyLine(parts, '', 0, 0);
      if (open) batch.events.push(open);
      return batch;
    },
  };
}

/**
 * Reads server-sent events from a response body one at a time (see `createSseParser`, which the
 * stream calls use directly to hand over a read's events at once). Throws ProviderError
 * (retryable) for an event over the size limit.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>, options: SseOptions): AsyncGenerator<SseEvent> {
  const parser = createSseParser(options);
  for await (const bytes of body) {
    const batch = parser.push(bytes);
    yield* batch.events;
    if (batch.failure) throw batch.failure;
  }
  const last = parser.end();
  yield* last.events;
  if (last.failure) throw last.failure;
}
