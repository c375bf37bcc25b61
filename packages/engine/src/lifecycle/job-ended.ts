import { randomBytes } from 'node:crypto';
import type { JobsOptions } from 'bullmq';
import type { GatewayServices } from '../gateway-services.ts';
import { toJobObject, type JobRecord } from '../jobs/job-types.ts';
import { getMetrics } from '@sluice/shared';
import { modelCatalog, type ModelCatalog } from '../metrics/model-labels.ts';
import { corked } from '@sluice/shared';

/** What the `webhooks` queue carries: one event for one URL, signed at each attempt. */
export interface WebhookJobData {
  /** Whose event: a job's (its deliveries are recorded on it) or a batch's. */
  kind?: 'job' | 'batch';
  /** The job or batch id. */
  job_id: string;
  tenant: string;
  url: string;
  /** The Standard Webhooks `webhook-id`, the same on every attempt and redelivery. */
  webhook_id: string;
  event: string;
  /** The exact body, fixed when the event happened. */
  payload: string;
}

export const WEBHOOK_JOB_NAME = 'deliver';

/** `msg_` + 22 url-safe characters. */
export const newWebhookId = (): string => `msg_${randomBytes(16).toString('base64url')}`;

/**
 * BullMQ options of a delivery: one attempt plus one per `retry_schedule_s` entry. Exhausted ones
 * are kept by the failed-delivery store (per tenant, bounded); the queue keeps them for Bull Board
 * for the same time, at most 1000.
 */
export function webhookJobOptions(services: GatewayServices, webhookId: string): JobsOptions {
  return {
    jobId: webhookId,
    attempts: services.config.webhooks.retry_schedule_s.length + 1,
    backoff: { type: 'webhook' },
    removeOnComplete: true,
    removeOnFail: { age: services.config.webhooks.failed_retention_s, count: 1000 },
  };
}

/** Queues a batch's `batch.<status>` event. */
export async function enqueueBatchWebhook(services: GatewayServices, batch: { id: string; tenant: string; status: string; webhook: { url: string } | null }, data: unknown): Promise<void> {
  if (batch.webhook === null) return;
  const webhookId = newWebhookId();
  const event = `batch.${batch.status}`;
  const payload = JSON.stringify({ type: event, timestamp: new Date().toISOString(), data });
  const job: WebhookJobData = { kind: 'batch', job_id: batch.id, tenant: batch.tenant, url: batch.webhook.url, webhook_id: webhookId, event, payload };
  await services.webhooks.add(WEBHOOK_JOB_NAME, job, webhookJobOptions(services, webhookId));
}

/** Queues the webhook of a job that just reached a terminal status. */
export async function enqueueJobWebhook(services: GatewayServices, record: JobRecord, webhookId = newWebhookId()): Promise<void> {
  if (record.webhook === null) return;
  const event = `job.${record.status}`;
  const payload = JSON.stringify({ type: event, timestamp: new Date().toISOString(), data: toJobObject(record) });
  const data: WebhookJobData = { job_id: record.id, tenant: record.tenant, url: record.webhook.url, webhook_id: webhookId, event, payload };
  await services.store.update(record.id, { webhook_status: 'pending' });
  await services.webhooks.add(WEBHOOK_JOB_NAME, data, webhookJobOptions(services, webhookId));
}

/**
 * Everything that follows a job's terminal status, wherever it was reached (worker, API cancel,
 * expiry sweep): its webhook, and its batch's counts.
 */
export async function announceJobEnded(services: GatewayServices, job: string | JobRecord, options: { accounted?: boolean } = {}): Promise<void> {
  const jobId = typeof job === 'string' ? job : job.id;
  try {
    // The caller that just wrote the terminal status may pass the record as written, saving a read.
    const record = typeof job === 'string' ? await services.store.get(jobId) : job;
    if (record === null) return;
    countEnded(record, modelCatalog(services.config));
    // Unless the caller's write did it: the deadline index only needs jobs that can still expire
    // (dropping ended ones keeps it the size of the backlog, not of a day's traffic), sent in one
    // write with the usage update.
    if (!options.accounted) {
      await Promise.all(
        corked(services.redis, () => [
          services.store.clearExpiry([record.id]),
          record.status === 'succeeded'
            ? services.usage.record({
                tenant: record.tenant, provider: record.provider ?? '', model: record.provider_model ?? '', usage: record.usage, costUsd: record.cost_usd, at: record.completed_at ?? record.created_at,
                listed: modelCatalog(services.config).listed(record.provider ?? '', record.provider_model ?? ''),
              })
            : undefined,
        ]),
      );
    }
    if (record.webhook !== null) await enqueueJobWebhook(services, record);
    if (record.batch_id !== null) await batchChildEnded(services, record);
  } catch (error) {
    services.logger.error({ job_id: jobId, err: (error as Error).message }, 'could not announce the end of a job (webhook or batch count)');
  }
}

/** The job's terminal status, tokens and cost in the process's Prometheus counters. */
function countEnded(record: JobRecord, models: ModelCatalog): void {
  const metrics = getMetrics();
  const provider = record.provider ?? record.routing.candidates[record.target]?.provider ?? 'none';
  metrics.jobs.inc({ status: record.status, provider, tier: record.tier });
  if (record.status !== 'succeeded') return;
  const model = models.label(provider, record.provider_model ?? '');
  if (record.usage !== null) {
    metrics.tokens.inc({ provider, model, kind: 'prompt' }, record.usage.prompt_tokens);
    metrics.tokens.inc({ provider, model, kind: 'completion' }, record.usage.completion_tokens);
  }
  if (record.cost_usd !== null) metrics.cost.inc({ provider, model, tenant: record.tenant }, record.cost_usd);
}

/** What the `batches` queue carries. */
export interface BatchJobData {
  batch_id: string;
  action: 'expand' | 'cancel' | 'finalize';
}

/** Queues one step of a batch; the job id makes a repeated request for the same step a no-op. */
export async function enqueueBatchStep(services: GatewayServices, batchId: string, action: BatchJobData['action']): Promise<void> {
  const data: BatchJobData = { batch_id: batchId, action };
  await services.batchQueue.add(action, data, { jobId: `${action}.${batchId}`, attempts: 5, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: true, removeOnFail: 1000 });
}

/** Counts a finished child in its batch's request_counts; the last one starts the finalizing. */
async function batchChildEnded(services: GatewayServices, record: JobRecord): Promise<void> {
  const batchId = record.batch_id;
  if (batchId === null) return;
  if (await services.batches.childEnded(batchId, record.status === 'succeeded' ? 'completed' : 'failed')) {
    await enqueueBatchStep(services, batchId, 'finalize');
  }
}
