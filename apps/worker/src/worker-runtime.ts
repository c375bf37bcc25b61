import { Worker } from 'bullmq';
import { createAdapters, ProviderError } from '@sluice/providers';
import {
  bullQueueName,
  createJobStore,
  createPriceLookup,
  createRedis,
  providerQueueName,
  waitUntilReady,
  type GatewayConfig,
  type Logger,
  type QueuedJobData,
} from '@sluice/shared';
import { backoffDelay } from './backoff.ts';
import { createCancelRegistry } from './cancel-registry.ts';
import { createJobProcessor } from './job-processor.ts';

export interface WorkerRuntime {
  /** Stops taking jobs, lets running ones finish for up to `graceMs`, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

/** Starts one BullMQ Worker per configured provider (its pool), sharing one Redis connection. */
export async function startWorker(config: GatewayConfig, logger: Logger): Promise<WorkerRuntime> {
  const redis = createRedis(config.redis.url, { role: 'worker', connectionName: 'sluice-worker' });
  redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
  await waitUntilReady(redis, 10_000);
  const prefix = config.redis.prefix;
  const store = createJobStore(redis, { prefix, retentionSeconds: config.jobs.retention_s });
  const adapters = createAdapters(config);
  const cancels = await createCancelRegistry(redis, prefix, logger);
  const processJob = createJobProcessor({ config, store, adapters, cancels, price: createPriceLookup(config), logger });

  // Disabled providers (no key) have no adapter and so no pool; routing never sends them jobs.
  const pools = [...adapters.keys()].flatMap((id) => (config.providers[id] ? [[id, config.providers[id]] as const] : []));
  const workers = pools.map(([id, provider]) => {
    const worker = new Worker<QueuedJobData>(bullQueueName(providerQueueName(id)), processJob, {
      connection: redis,
      prefix,
      concurrency: provider.concurrency,
      settings: {
        backoffStrategy: (attemptsMade, _type, error) =>
          backoffDelay(attemptsMade, provider.retry, error instanceof ProviderError ? error.retryAfterMs : null),
      },
    });
    worker.on('error', (error) => logger.error({ err: error.message, provider: id }, 'worker error'));
    return worker;
  });
  logger.info({ providers: pools.map(([id]) => id) }, 'worker pools started');

  return {
    async close(graceMs = config.server.shutdown_grace_s * 1000) {
      logger.info({ grace_ms: graceMs }, 'worker stopping: finishing running jobs');
      const graceful = Promise.all(workers.map((worker) => worker.close())).then(() => true);
      const timer = new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs).unref());
      if (!(await Promise.race([graceful, timer]))) {
        // Past the grace period the running jobs are left to BullMQ's stall recovery on another worker.
        logger.warn('grace period over: closing with jobs still running; they will be re-run after their lock expires');
        await Promise.all(workers.map((worker) => worker.close(true)));
      }
      await cancels.close();
      await Promise.all([...adapters.values()].map((adapter) => adapter.close()));
      await redis.quit().catch(() => redis.disconnect());
      logger.info('worker stopped');
    },
  };
}
