/** One line of a JSONL file, numbered from 1 as `text.split('\n')` would number it. */
export type JsonlLine = { number: number; text: string; tooLong?: undefined } | { number: number; text?: undefined; tooLong: true };

const NEWLINE = 0x0a;

export interface LineSplitter {
  /** The lines this chunk completes, in order; a line longer than the limit is reported once, as `tooLong`. */
  push(chunk: Uint8Array): Generator<JsonlLine>;
  /** The last line when the content does not end with a newline. */
  end(): Generator<JsonlLine>;
}

/**
 * Splits bytes into lines as they arrive, holding at most `maxLineBytes` of an unfinished line: a
 * longer line is reported as `tooLong` as soon as it passes the limit, and its rest is skipped.
 * Lines are decoded as UTF-8 only once whole (a newline byte never falls inside a UTF-8 sequence).
 */
export function createLineSplitter(maxLineBytes: number): LineSplitter {
  let pieces: Buffer[] = [];
  let pending = 0;
  let number = 1;
  let skipping = false;

  const take = (): string => {
    const text = (pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces, pending)).toString('utf8');
    pieces = [];
    pending = 0;
    // A byte-order mark may open a file; JSON.parse would refuse it.
    return number === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  };

  return {
    *push(chunk) {
      const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      let start = 0;
      while (start < bytes.length) {
        const newline = bytes.indexOf(NEWLINE, start);
        const end = newline === -1 ? bytes.length : newline;
        if (!skipping && end > start) {
          if (pending + (end - start) > maxLineBytes) {
            skipping = true;
            pieces = [];
            pending = 0;
            yield { number, tooLong: true };
          } else {
            // Only the unfinished tail is copied; a whole line is read straight from the chunk.
            pieces.push(newline === -1 ? Buffer.from(bytes.subarray(start, end)) : bytes.subarray(start, end));
            pending += end - start;
          }
        }
        if (newline === -1) break;
        if (!skipping) yield { number, text: take() };
        skipping = false;
        number += 1;
        start = newline + 1;
      }
    },
    *end() {
      if (!skipping && pending > 0) yield { number, text: take() };
      pieces = [];
      pending = 0;
    },
  };
}

/** The lines of content read chunk by chunk (a stored file, an upload), in bounded memory. */
export async function* readLines(chunks: AsyncIterable<Uint8Array>, maxLineBytes: number): AsyncGenerator<JsonlLine> {
  const splitter = createLineSplitter(maxLineBytes);
  for await (const chunk of chunks) yield* splitter.push(chunk);
  yield* splitter.end();
}
