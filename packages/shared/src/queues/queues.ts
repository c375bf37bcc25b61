import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { ProviderConfig } from '../config/schema.ts';
import type { Priority, Tier } from '../schemas/job-request.ts';

/** The logical name of a provider's queue, as shown to operators and in metrics. */
export const providerQueueName = (providerId: string): string => `provider-${providerId}`;

/**
 * The BullMQ queue name: the logical name in a hash tag, so every key of one queue shares a Redis
 * Cluster slot while different queues spread over shards.
 */
export const bullQueueName = (logicalName: string): string => `{${logicalName}}`;

const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };
const TIER_RANK: Record<Tier, number> = { premium: 0, standard: 1, economy: 2 };

/** BullMQ priority (1 runs first): high before normal before low; within one, premium before standard before economy. */
export function bullPriority(priority: Priority, tier: Tier): number {
  return PRIORITY_RANK[priority] * 3 + TIER_RANK[tier] + 1;
}

/** What a provider queue's BullMQ job carries: only the pointer to the job record, which holds the rest. */
export const QueuedJobDataSchema = z.object({
  id: z.string().min(1),
  /** Index into the record's routing candidates. */
  target: z.number().int().min(0),
});
export type QueuedJobData = z.infer<typeof QueuedJobDataSchema>;

export const PROVIDER_JOB_NAME = 'complete';

/** BullMQ options for a job on a provider queue. */
export function providerJobOptions(jobId: string, priority: Priority, tier: Tier, provider: ProviderConfig): JobsOptions {
  return {
    jobId,
    priority: bullPriority(priority, tier),
    attempts: provider.retry.attempts,
    backoff: { type: 'sluice' },
    // The job record is the truth polling reads; finished BullMQ jobs are dead weight in Redis.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** Opens a provider queue on a shared command connection. */
export function openProviderQueue(redis: Redis, prefix: string, providerId: string): Queue<QueuedJobData> {
  return new Queue<QueuedJobData>(bullQueueName(providerQueueName(providerId)), { connection: redis, prefix });
}
