import type { Queue } from 'bullmq';
import type { ProviderAdapter } from '@sluice/providers';
import type {
  Breaker,
  CircuitView,
  GatewayConfig,
  JobStore,
  Logger,
  PriceLookup,
  QueuedJobData,
  RateLimiter,
  Redis,
  SpendLedger,
} from '@sluice/shared';
import type { CancelRegistry } from './cancel-registry.ts';

/** What every part of a worker process shares: one Redis connection and its stores. */
export interface WorkerContext {
  config: GatewayConfig;
  redis: Redis;
  store: JobStore;
  adapters: ReadonlyMap<string, ProviderAdapter>;
  /** Producers for every enabled provider's queue (failover and retry enqueue on any of them). */
  queues: ReadonlyMap<string, Queue<QueuedJobData>>;
  deadLetters: Queue;
  cancels: CancelRegistry;
  price: PriceLookup;
  breaker: Breaker;
  circuits: CircuitView;
  limiter: RateLimiter;
  spend: SpendLedger;
  logger: Logger;
  /** Called when this process opened a circuit: pause its queue and move its jobs. */
  onCircuitOpened(provider: string): void;
}
