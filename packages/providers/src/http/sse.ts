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

const DEFAULT_MAX_EVENT_CHARS = 1_000_000;

interface EventParts {
  event: string | undefined;
  data: string[];
  size: number;
}

/** Applies one line to the event being built; returns the event when the line is the blank one ending it. */
function applyLine(parts: EventParts, line: string): SseEvent | null {
  if (line === '') {
    const done = parts.data.length > 0 ? { ...(parts.event !== undefined ? { event: parts.event } : {}), data: parts.data.join('\n') } : null;
    parts.event = undefined;
    parts.data = [];
    parts.size = 0;
    return done;
  }
  if (line.startsWith(':')) return null; // a comment: servers send them as keep-alives
  const colon = line.indexOf(':');
  const field = colon === -1 ? line : line.slice(0, colon);
  let value = colon === -1 ? '' : line.slice(colon + 1);
  if (value.startsWith(' ')) value = value.slice(1);
  if (field === 'data') {
    parts.data.push(value);
    parts.size += value.length + 1;
  } else if (field === 'event') {
    parts.event = value;
  }
  // `id:` and `retry:` matter to browsers reconnecting; one attempt never reconnects.
  return null;
}

/** The end of the first line in `text` from `start`: [index, length of the line ending], or null when no full line is there yet. */
function lineEnd(text: string, start: number, final: boolean): [number, number] | null {
  for (let i = start; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 10) return [i, 1];
    if (code === 13) {
      // A `\r` last in the buffer may be half of a `\r\n` split across reads: wait for the next one.
      if (i + 1 === text.length) return final ? [i, 1] : null;
      return [i, text.charCodeAt(i + 1) === 10 ? 2 : 1];
    }
  }
  return null;
}

/**
 * Reads server-sent events from a response body (any split of its bytes: lines, and UTF-8
 * characters, may straddle reads). Lines end in `\n`, `\r\n` or `\r`; a blank line ends an event;
 * comments and fields other than `data` and `event` are skipped. An event left open when the body
 * ends is still given (a last `[DONE]` without its blank line); whether the stream was complete is
 * the wire format's question. Throws ProviderError (retryable) for an event over the size limit.
 */
export async function* parseSse(body: AsyncIterable<Uint8Array>, options: SseOptions): AsyncGenerator<SseEvent> {
  const limit = options.maxEventChars ?? DEFAULT_MAX_EVENT_CHARS;
  const decoder = new TextDecoder('utf-8');
  const parts: EventParts = { event: undefined, data: [], size: 0 };
  let buffer = '';
  const check = (pending: number): void => {
    if (parts.size + pending <= limit) return;
    throw new ProviderError(`${options.provider}: stream event over ${limit} characters`, { kind: 'retryable', provider: options.provider, status: 200 });
  };
  const drain = function* (final: boolean): Generator<SseEvent> {
    let start = 0;
    for (let end = lineEnd(buffer, start, final); end !== null; end = lineEnd(buffer, start, final)) {
      const event = applyLine(parts, buffer.slice(start, end[0]));
      start = end[0] + end[1];
      check(0);
      if (event) yield event;
    }
    buffer = buffer.slice(start);
    check(buffer.length);
  };
  for await (const bytes of body) {
    buffer += decoder.decode(bytes, { stream: true });
    yield* drain(false);
  }
  buffer += decoder.decode();
  yield* drain(true);
  // The body ended: its unterminated last line, then the event it leaves open.
  if (buffer !== '') applyLine(parts, buffer);
  const open = applyLine(parts, '');
  if (open) yield open;
}
