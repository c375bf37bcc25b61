import type { Response } from 'express';

/** Headers of every server-sent event stream the API answers (no proxy buffering or transforms). */
export const SSE_HEADERS = { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' } as const;

/** How often an open event stream sends a comment, so proxies and clients keep an idle one open. */
export const HEARTBEAT_MS = 15_000;

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
