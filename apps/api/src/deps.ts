import type { RequestHandler } from 'express';
import type { Engine } from '@sluice/engine';
import type { Authenticator } from './middleware/auth.ts';
import type { JobWatcher } from './services/job-watcher.ts';
import type { StreamHub } from './services/stream-hub.ts';
import type { WaiterSlots } from './services/waiter-slots.ts';

/**
 * What the HTTP app is built from, by the API's runtime (or a test): createApp reads no env and opens
 * nothing. Each router declares the part of it that it uses.
 */
export interface ApiDeps extends Engine {
  auth: Authenticator;
  /** Wakes requests waiting on a job's status (long-poll, SSE, synchronous chat). */
  watcher: JobWatcher;
  /** Reads streamed jobs' output streams (blocking reads shared by every client of this process). */
  streams: StreamHub;
  /** Open waits per tenant (`server.max_waiters_per_tenant`). */
  waiters: WaiterSlots;
  /** Starts each `/v1` request's span when tracing is on; null when it is off (nothing runs per request). */
  requestSpans: RequestHandler | null;
}
