import { Queue, Worker } from 'bullmq';
import { exceptConnectionErrors, type Redis } from '@sluice/shared';
import { bullQueueName, PROVIDER_BATCH_QUEUE, type Engine } from '@sluice/engine';

export interface ProviderBatchPoller {
  close(): Promise<void>;
}

const SCHEDULER_ID = 'provider-batches';
/** The tick when only jobs deferred under an earlier config are left. */
const LEFTOVER_TICK_MS = 15_000;

/**
 * Provider batches are driven by one repeatable BullMQ job (a job scheduler, shared by every worker
 * process): whichever worker takes a tick submits what waits, polls what is open and takes back
 * jobs near their deadline (`pass`, which holds its own Redis locks). It ticks at half the shortest
 * `batch.poll_interval_s` or `max_wait_s` of the providers with batches on.
 */
export async function startProviderBatchPoller(deps: Pick<Engine, 'config' | 'logger' | 'deferred'>, queueRedis: Redis, pass: () => Promise<void>): Promise<ProviderBatchPoller> {
  const { config, logger } = deps;
  const prefix = config.redis.prefix;
  const intervals = Object.values(config.providers).filter((provider) => provider.batch.enabled).map((provider) => Math.min(provider.batch.poll_interval_s, provider.batch.max_wait_s) * 500);
  // With batching off everywhere, jobs deferred before still finish (polled, or taken back at their
  // deadline) at a slow pace; with none left, the queue is not touched at all.
  if (intervals.length === 0) {
    if (!(await deps.deferred.pending())) return { close: async () => undefined };
    intervals.push(LEFTOVER_TICK_MS);
  }
  const queue = new Queue(bullQueueName(PROVIDER_BATCH_QUEUE), { connection: queueRedis, prefix });
  queue.on('error', exceptConnectionErrors(queueRedis, logger, (error) => logger.warn({ err: error.message }, 'provider batch queue error')));
  const every = Math.max(100, Math.min(...intervals));
  await queue.upsertJobScheduler(SCHEDULER_ID, { every }, { name: 'tick', opts: { removeOnComplete: true, removeOnFail: 100 } });
  const worker = new Worker(bullQueueName(PROVIDER_BATCH_QUEUE), () => pass(), { connection: queueRedis, prefix, concurrency: 1 });
  worker.on('error', exceptConnectionErrors(queueRedis, logger, (error) => logger.error({ err: error.message }, 'provider batch worker error')));
  worker.on('failed', (_job, error) => logger.warn({ err: error.message }, 'provider batch pass failed; the next tick retries'));
  return {
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}
