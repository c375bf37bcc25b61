// The stream scenario's client: one undici request per stream, its SSE parsed as it arrives, the same
// code for Sluice and for the fake read directly.
import { performance } from 'node:perf_hooks';
import { request } from 'undici';

export interface StreamRead {
  /** From sending the request to the first `data:` event holding a chunk, in ms. */
  firstChunkMs: number;
  /** `data:` events other than `[DONE]`. */
  chunks: number;
}

/** The data of one SSE event (its `data:` lines joined), or null when it has none. */
function eventData(event: string): string | null {
  // Fast path: what OpenAI-shaped servers send, one `data: ` line per event.
  if (event.startsWith('data: ') && !event.includes('\n')) return event.slice(6);
  const lines = event.split('\n').filter((line) => line.startsWith('data:'));
  if (lines.length === 0) return null;
  return lines.map((line) => line.slice(line.startsWith('data: ') ? 6 : 5)).join('\n');
}

/**
 * POSTs `body` to `url` and reads the answer as an event stream to its `data: [DONE]`. Throws when
 * the answer is not a 200 event stream (a gateway that does not stream), carries an error event, or
 * ends without `[DONE]`. Both servers end lines with `\n` alone; `\r\n` framing would read as no events.
 */
export async function readEventStream(url: string, headers: Record<string, string>, body: string, what: string): Promise<StreamRead> {
  const started = performance.now();
  const response = await request(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/event-stream', ...headers }, body });
  const type = String(response.headers['content-type'] ?? '');
  if (response.statusCode !== 200 || !type.startsWith('text/event-stream')) {
    const text = await response.body.text();
    throw new Error(`${what} answered ${response.statusCode} ${type || '(no content-type)'} instead of an event stream: ${text.slice(0, 300)}`);
  }
  response.body.setEncoding('utf8');
  let pending = '';
  let chunks = 0;
  let firstChunkMs = Number.NaN;
  let done = false;
  for await (const text of response.body as AsyncIterable<string>) {
    pending += text;
    let start = 0;
    for (let end = pending.indexOf('\n\n'); end !== -1; end = pending.indexOf('\n\n', start)) {
      const data = eventData(pending.slice(start, end));
      start = end + 2;
      if (data === null) continue;
      if (data === '[DONE]') {
        done = true;
        continue;
      }
      if (data.startsWith('{"error"')) throw new Error(`${what} sent an error event after ${chunks} chunks: ${data.slice(0, 300)}`);
      if (chunks === 0) firstChunkMs = performance.now() - started;
      chunks += 1;
    }
    pending = pending.slice(start);
  }
  if (!done) throw new Error(`${what}: the stream ended without data: [DONE] after ${chunks} chunks`);
  return { firstChunkMs, chunks };
}

/** Times to first chunk of `count` streams read one after the other. */
export async function timeToFirstChunk(url: string, headers: Record<string, string>, body: (index: number) => string, count: number, what: string): Promise<number[]> {
  const times: number[] = [];
  for (let index = 0; index < count; index += 1) times.push((await readEventStream(url, headers, body(index), what)).firstChunkMs);
  return times;
}

export interface StreamThroughput {
  chunksPerSecond: number;
  /** Streams read to their end. */
  streams: number;
  /** Chunks in each stream (they must all have the same). */
  chunksPerStream: number;
}

/**
 * `concurrency` streams at once, each reader opening the next when its stream ends, for `seconds`;
 * the rate counts every chunk over the time until the last stream ends.
 */
export async function streamThroughput(url: string, headers: Record<string, string>, body: string, options: { concurrency: number; seconds: number; what: string }): Promise<StreamThroughput> {
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  let chunks = 0;
  let streams = 0;
  let chunksPerStream = -1;
  const reader = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const read = await readEventStream(url, headers, body, options.what);
      if (chunksPerStream !== -1 && read.chunks !== chunksPerStream) throw new Error(`${options.what}: a stream had ${read.chunks} chunks, another ${chunksPerStream}`);
      chunksPerStream = read.chunks;
      chunks += read.chunks;
      streams += 1;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, reader));
  return { chunksPerSecond: chunks / ((performance.now() - started) / 1000), streams, chunksPerStream };
}
