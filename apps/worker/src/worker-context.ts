import type { ProviderAdapter } from '@sluice/providers';
import type { Redis } from '@sluice/shared';
import type { GatewayServices, Succeeder } from '@sluice/engine';
import type { CancelRegistry } from './cancel-registry.ts';

/** What every part of a worker process shares: one Redis connection, its stores and the adapters. */
export interface WorkerContext extends GatewayServices {
  adapters: ReadonlyMap<string, ProviderAdapter>;
  /** BullMQ's connection (the stores use `redis`). */
  queueRedis: Redis;
  cancels: CancelRegistry;
  /** A success and its accounting in one script (one server). */
  succeeder: Succeeder;
  /** Called when this process opened a circuit: pause its queue and move its jobs. */
  onCircuitOpened(provider: string): void;
}
