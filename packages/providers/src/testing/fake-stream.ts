import type { ServerResponse } from 'node:http';
import type { RecordedRequest } from './fake-provider-server.ts';

/** One server-sent event the fake writes: an optional `event:` name and its data (JSON-encoded unless a string). */
export interface FakeSseEvent {
  event?: string;
  data: unknown;
}

/**
 * A streamed reply, in any wire format: the events in order (the format's end marker included,
 * or left out to cut the stream), then the body ends, unless `hang` keeps it open.
 */
export interface FakeStream {
  events: FakeSseEvent[];
  /** Wait before each event after the first (slow chunks, so aborts and timeouts can be tested). Default 0. */
  intervalMs?: number;
  /** After the events, send nothing more and keep the connection open (until the client aborts). */
  hang?: boolean;
}

/** A stream, or one built from the request it answers (an echo of its text, say). */
export type FakeStreamPlan = FakeStream | ((request: RecordedRequest) => FakeStream);

/** Whether a recorded request asked to stream (`"stream": true` in its JSON body). */
export const asksToStream = (request: RecordedRequest): boolean =>
  typeof request.body === 'object' && request.body !== null && (request.body as { stream?: unknown }).stream === true;

const frame = ({ event, data }: FakeSseEvent): string => `${event === undefined ? '' : `event: ${event}\n`}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`;

/**
 * Writes a stream as `text/event-stream`. The request counts as answered only once its body is
 * ended: a client leaving mid-stream, or a hanging plan, marks it aborted when the socket closes.
 */
export async function writeFakeStream(res: ServerResponse, recorded: RecordedRequest, stream: FakeStream, status: number, headers: Record<string, string>): Promise<void> {
  res.writeHead(status, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
  res.flushHeaders();
  for (const [i, event] of stream.events.entries()) {
    if (i > 0 && stream.intervalMs) await new Promise((resolve) => setTimeout(resolve, stream.intervalMs));
    if (res.destroyed) return;
    res.write(frame(event));
  }
  if (stream.hang || res.destroyed) return;
  recorded.answered = true; // before `end`: its `close` must not read as an abort
  res.end();
}
