import type { Queue } from 'bullmq';
import type { Breaker, CircuitView, GatewayConfig, JobStore, Logger, PriceLookup, QueuedJobData, RateLimiter, Redis, SpendLedger } from '@sluice/shared';
import type { Authenticator } from './middleware/auth.ts';

/** Everything the HTTP app needs, built by main.ts (or a test): createApp reads no env and opens nothing. */
export interface ApiDeps {
  config: GatewayConfig;
  redis: Redis;
  store: JobStore;
  /** One producer per provider queue, by provider id. */
  queues: ReadonlyMap<string, Queue<QueuedJobData>>;
  deadLetters: Queue;
  auth: Authenticator;
  price: PriceLookup;
  breaker: Breaker;
  circuits: CircuitView;
  limiter: RateLimiter;
  spend: SpendLedger;
  logger: Logger;
}
