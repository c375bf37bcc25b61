import { randomBytes } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import { z } from 'zod';
import type { GatewayConfig } from '@sluice/shared';
import { JobErrorSchema, TraceContextSchema } from '../jobs/job-types.ts';
import { keptEntries, type KeptEntries } from './kept-entries.ts';

/**
 * What each Sluice queue carries: the contracts between the process that adds an entry and the one
 * that takes it. Every taker parses its entry with these schemas before acting on it.
 */

/** A provider queue's entry: only the pointer to the job record, which holds the rest. */
export const QueuedJobDataSchema = z.object({ id: z.string().min(1) });
export type QueuedJobData = z.infer<typeof QueuedJobDataSchema>;

/** The `webhooks` queue: one event for one URL, signed at each attempt. */
export const WebhookJobDataSchema = z.object({
  /** Whose event: a job's (its deliveries are recorded on it) or a batch's. */
  kind: z.enum(['job', 'batch']).optional(),
  /** The job or batch id. */
  job_id: z.string().min(1),
  tenant: z.string(),
  url: z.string(),
  /** The Standard Webhooks `webhook-id`, the same on every attempt and redelivery. */
  webhook_id: z.string().min(1),
  event: z.string(),
  /** The exact body, fixed when the event happened. */
  payload: z.string(),
  /** The job's trace context (tracing on): each delivery is a span of its trace, and its request carries it. */
  trace: TraceContextSchema.optional(),
});
export type WebhookJobData = z.infer<typeof WebhookJobDataSchema>;

/** The `batches` queue: one step of a batch. */
export const BatchJobDataSchema = z.object({ batch_id: z.string().min(1), action: z.enum(['expand', 'cancel', 'finalize']) });
export type BatchJobData = z.infer<typeof BatchJobDataSchema>;

/** The `dead-letter` queue: a job that failed for good, mirrored for Bull Board. */
export const DeadLetterDataSchema = z.object({ id: z.string(), tenant: z.string(), model: z.string(), error: JobErrorSchema, failed_at: z.number() });
export type DeadLetterData = z.infer<typeof DeadLetterDataSchema>;

export const WEBHOOK_JOB_NAME = 'deliver';

/** `msg_` + 22 url-safe characters. */
export const newWebhookId = (): string => `msg_${randomBytes(16).toString('base64url')}`;

/**
 * BullMQ options of a delivery: one attempt plus one per `retry_schedule_s` entry, spaced by the
 * `webhook` backoff strategy (`webhookBackoff`, which the delivering worker registers). Delivered
 * ones are kept as `queues.keep_completed` says. Exhausted ones are kept by the failed-delivery
 * store (per tenant, bounded); the queue keeps them for Bull Board for the same time, at most 1000.
 */
export function webhookJobOptions(config: Pick<GatewayConfig, 'webhooks' | 'queues'>, webhookId: string): JobsOptions {
  return {
    jobId: webhookId,
    attempts: config.webhooks.retry_schedule_s.length + 1,
    backoff: { type: 'webhook' },
    removeOnComplete: keptEntries(config.queues).removeOnComplete,
    removeOnFail: { age: config.webhooks.failed_retention_s, count: 1000 },
  };
}

/** The `webhook` backoff strategy: the n-th retry waits `retry_schedule_s[n - 1]` (the last entry past its end). */
export function webhookBackoff(schedule: readonly number[]): (attemptsMade: number) => number {
  return (attemptsMade) => (schedule[Math.min(attemptsMade - 1, schedule.length - 1)] ?? 60) * 1000;
}

/**
 * BullMQ options of a batch step; the job id makes a repeated request for the same step a no-op
 * (also while the finished step is kept: each step is asked for once per batch).
 */
export function batchStepOptions(batchId: string, action: BatchJobData['action'], keep: KeptEntries): JobsOptions {
  return { jobId: `${action}.${batchId}`, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, ...keep };
}
