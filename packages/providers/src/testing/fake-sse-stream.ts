import type { IncomingMessage, ServerResponse } from 'node:http';

/** The request fields a stream builder reads (a subset of the fake server's recorded request). */
export interface StreamRequest {
  method: string;
  path: string;
  body: unknown;
  receivedAt: number;
  answered: boolean;
}

/**
 * How the fake answers its next stream request; every field is optional, and `{}` streams the
 * echo of the last user message in a few text deltas, then the end, with usage.
 */
export interface FakeVendorStreamPlan {
  /** The text to stream instead of `fake: <last user message>`; `''` streams no text. */
  text?: string;
  /** Tool calls to stream after the text; the stop reason becomes the vendor's tool-use one. */
  toolCalls?: { name: string; arguments: Record<string, unknown> }[];
  /** Stop as the output-token limit does instead of a normal end. */
  stop?: 'end' | 'max_tokens';
  /** Send the vendor's error event after this many deltas (text pieces and tool-call pieces), then end the response. */
  errorAfterDeltas?: number;
  /** The error event's JSON instead of the vendor's "overloaded" one. */
  error?: unknown;
  /** End the response after this many deltas without the vendor's end (use a large number to send every delta). */
  cutAfterDeltas?: number;
  /** Wait this long before each event after the first. */
  delayMs?: number;
}

/** A vendor stream's events as SSE frames (`event:`/`data:` lines and a blank line each), in three runs. */
export interface StreamFrames {
  /** What opens the stream (Anthropic's message_start). */
  head: string[];
  /** Text and tool-call pieces, each counting as a delta for `errorAfterDeltas` and `cutAfterDeltas`. */
  deltas: string[];
  /** What ends it: finish reason, usage, end event. */
  tail: string[];
  /** The error event `errorAfterDeltas` sends. */
  error: string;
}

/** One vendor's stream format: which requests ask for a stream, and the frames that answer one. */
export interface StreamFormat {
  matches(request: StreamRequest): boolean;
  build(request: StreamRequest, plan: FakeVendorStreamPlan, text: string): StreamFrames;
}

/** The streams of one fake server: script how the next streams go. */
export interface FakeStreamApi {
  /** Plans used in order by the next stream requests, before the default `{}` takes over again. */
  script(...plans: FakeVendorStreamPlan[]): void;
}

/** The fake server's side of its streams: the scripting API, and the hook that answers a stream request. */
export interface FakeStreams<R extends StreamRequest> extends FakeStreamApi {
  /** Answers `request` with a stream if its format asks for one (returns false otherwise); the answer is written over time. */
  serve(request: R, res: ServerResponse<IncomingMessage>, headers?: Record<string, string>): boolean;
}

/** Frames as the response sends them: the plan's error or cut applied. */
export function framesToSend(frames: StreamFrames, plan: FakeVendorStreamPlan): string[] {
  const before = (count: number): string[] => [...frames.head, ...frames.deltas.slice(0, Math.max(0, count))];
  if (plan.errorAfterDeltas !== undefined) return [...before(plan.errorAfterDeltas), frames.error];
  if (plan.cutAfterDeltas !== undefined) return before(plan.cutAfterDeltas);
  return [...frames.head, ...frames.deltas, ...frames.tail];
}

/** `text` in `count` pieces or fewer (whole code points), as a model streams it in several deltas. */
export function pieces(text: string, count = 3): string[] {
  const chars = Array.from(text);
  const size = Math.max(1, Math.ceil(chars.length / count));
  const out: string[] = [];
  for (let at = 0; at < chars.length; at += size) out.push(chars.slice(at, at + size).join(''));
  return out;
}

/** One SSE frame: an optional `event:` line, one `data:` line, a blank line. */
export const sseFrame = (data: unknown, event?: string): string => `${event === undefined ? '' : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`;

async function write(request: StreamRequest, res: ServerResponse<IncomingMessage>, frames: string[], delayMs: number): Promise<void> {
  for (const [at, frame] of frames.entries()) {
    if (at > 0 && delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    // The client went away: what it missed is not sent (the request is already marked aborted).
    if (res.destroyed) return;
    res.write(frame);
  }
  request.answered = true;
  res.end();
}

/**
 * Serves `format`'s streams for a fake server (none when it has no stream format): a 200
 * `text/event-stream` whose frames follow the next scripted plan. `echoText` gives the default text.
 */
export function createFakeStreams<R extends StreamRequest>(format: StreamFormat | undefined, echoText: (request: R) => string): FakeStreams<R> {
  const scripted: FakeVendorStreamPlan[] = [];
  return {
    script: (...plans) => void scripted.push(...plans),
    serve(request, res, headers = {}) {
      if (format === undefined || !format.matches(request)) return false;
      const plan = scripted.shift() ?? {};
      const frames = framesToSend(format.build(request, plan, plan.text ?? echoText(request)), plan);
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...headers });
      void write(request, res, frames, plan.delayMs ?? 0);
      return true;
    },
  };
}
