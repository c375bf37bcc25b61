import type { Response } from 'express';

/** Headers of every server-sent event stream the API answers (no proxy buffering or transforms). */
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' } as const;

/** How often an open event stream sends a comment, so proxies and clients keep an idle one open. */
const HEARTBEAT_MS = 15_000;

/**
 * Resolves once the response can take more (`drain`) or has closed: what a relay awaits when a
 * write returned false, so a slow client backs up into Redis, never into memory here.
 */
export function drained(res: Response): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}

/** A comment every `HEARTBEAT_MS` while the response is open, skipped while its socket is full; clear the timer to stop. */
export function startHeartbeat(res: Response): NodeJS.Timeout {
  return setInterval(() => {
    if (!res.writableNeedDrain) res.write(': keep-alive\n\n');
  }, HEARTBEAT_MS);
}

/** The error a reader gets when the stream dropped chunks it had not read (past `jobs.stream_max_entries`). */
export const truncatedError = (jobId: string): { message: string; type: string; code: string } => ({
  message: `the stream dropped chunks this reader had not read yet (jobs.stream_max_entries); GET /v1/jobs/${jobId} has the whole answer once the job ends`,
  type: 'api_error',
  code: 'stream_truncated',
});
