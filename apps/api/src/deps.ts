import type { GatewayServices } from '@sluice/engine';
import type { Authenticator } from './middleware/auth.ts';
import type { JobWatcher } from './services/job-watcher.ts';
import type { WaiterSlots } from './services/waiter-slots.ts';

/** Everything the HTTP app needs, built by main.ts (or a test): createApp reads no env and opens nothing. */
export interface ApiDeps extends GatewayServices {
  auth: Authenticator;
  /** Wakes requests waiting on a job's status (long-poll, SSE, synchronous chat). */
  watcher: JobWatcher;
  /** Open waits per tenant (`server.max_waiters_per_tenant`). */
  waiters: WaiterSlots;
}
