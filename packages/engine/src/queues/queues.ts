import { Queue, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { PRIORITY_RANK, type Priority, type Tier } from '../schemas/job-request.ts';
import type { QueuedJobData } from './payloads.ts';

/** The logical name of a provider's queue, as shown to operators and in metrics. */
export const providerQueueName = (providerId: string): string => `provider-${providerId}`;

/**
 * The BullMQ queue name: the logical name in a hash tag, so every key of one queue shares a Redis
 * Cluster slot while different queues spread over shards.
 */
export const bullQueueName = (logicalName: string): string => `{${logicalName}}`;

const TIER_RANK: Record<Tier, number> = { premium: 0, standard: 1, economy: 2 };

/** BullMQ priority (1 runs first): high before normal before low; within one, premium before standard before economy. */
export function bullPriority(priority: Priority, tier: Tier): number {
  return PRIORITY_RANK[priority] * 3 + TIER_RANK[tier] + 1;
}


export const PROVIDER_JOB_NAME = 'complete';

/** Logical names of the queues that are not provider pools. */
export const DEAD_LETTER_QUEUE = 'dead-letter';
export const WEBHOOK_QUEUE = 'webhooks';
export const BATCH_QUEUE = 'batches';
/** The queue whose repeatable job drives provider batches: submitting, polling, taking jobs back. */
export const PROVIDER_BATCH_QUEUE = 'provider-batches';

/**
 * The BullMQ job id of a record's `sequence`-th queue entry. Retries and failovers enqueue a new
 * entry with the next sequence, so a record has exactly one live entry and any other is stale.
 */
export const queueJobId = (jobId: string, sequence: number): string => `${jobId}.${sequence}`;

/** The sequence after a queue job id's, for the next entry of the same record. */
export function nextQueueJobId(current: string, jobId: string): string {
  const sequence = Number(current.slice(current.lastIndexOf('.') + 1));
  return queueJobId(jobId, Number.isFinite(sequence) ? sequence + 1 : 1);
}

/**
 * BullMQ options for an entry on a provider queue. BullMQ makes one attempt: the worker owns retries,
 * backoff and failover, re-enqueueing a new entry, so the record always names the live one.
 */
export function providerJobOptions(jobId: string, priority: Priority, tier: Tier, delayMs = 0): JobsOptions {
  return {
    jobId,
    priority: bullPriority(priority, tier),
    ...(delayMs > 0 ? { delay: delayMs } : {}),
    // The job record is the truth polling reads; finished BullMQ jobs are dead weight in Redis.
    removeOnComplete: true,
    removeOnFail: true,
  };
}

/** Opens any Sluice queue by its logical name on a shared command connection. */
export function openQueue<T = unknown>(redis: Redis, prefix: string, logicalName: string): Queue<T> {
  return new Queue<T>(bullQueueName(logicalName), { connection: redis, prefix });
}

/** Opens a provider queue on a shared command connection. */
export function openProviderQueue(redis: Redis, prefix: string, providerId: string): Queue<QueuedJobData> {
  return new Queue<QueuedJobData>(bullQueueName(providerQueueName(providerId)), { connection: redis, prefix });
}
