import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { corked, getMetrics, type GatewayConfig, type Logger, type TraceContext } from '@sluice/shared';
import type { BatchStore } from '../batches/batch-store.ts';
import type { JobStore } from '../jobs/job-store.ts';
import { toJobObject, type JobRecord } from '../jobs/job-types.ts';
import { modelCatalog, type ModelCatalog } from '../metrics/model-labels.ts';
import { keptEntries } from '../queues/kept-entries.ts';
import { batchStepOptions, newWebhookId, WEBHOOK_JOB_NAME, webhookJobOptions, type BatchJobData, type WebhookJobData } from '../queues/payloads.ts';
import type { UsageStore } from '../usage/usage-store.ts';

/** What announcing an end touches: the record's webhook, its batch's counts, usage and metrics. */
export interface AnnounceDeps {
  config: GatewayConfig;
  redis: Redis;
  store: JobStore;
  usage: UsageStore;
  batches: BatchStore;
  webhooks: Queue;
  batchQueue: Queue;
  logger: Logger;
}

/** Queues a batch's `batch.<status>` event. */
export async function enqueueBatchWebhook(deps: Pick<AnnounceDeps, 'config' | 'webhooks'>, batch: { id: string; tenant: string; status: string; webhook: { url: string } | null; trace: TraceContext | null }, data: unknown): Promise<void> {
  if (batch.webhook === null) return;
  const webhookId = newWebhookId();
  const event = `batch.${batch.status}`;
  const payload = JSON.stringify({ type: event, timestamp: new Date().toISOString(), data });
  const job: WebhookJobData = { kind: 'batch', job_id: batch.id, tenant: batch.tenant, url: batch.webhook.url, webhook_id: webhookId, event, payload, ...(batch.trace === null ? {} : { trace: batch.trace }) };
  await deps.webhooks.add(WEBHOOK_JOB_NAME, job, webhookJobOptions(deps.config, webhookId));
}

/** Queues the webhook of a job that reached a terminal status (again, on a redelivery with its `webhookId`). */
export async function enqueueJobWebhook(deps: Pick<AnnounceDeps, 'config' | 'webhooks' | 'store'>, record: JobRecord, webhookId = newWebhookId()): Promise<void> {
  if (record.webhook === null) return;
  const event = `job.${record.status}`;
  const payload = JSON.stringify({ type: event, timestamp: new Date().toISOString(), data: toJobObject(record) });
  const data: WebhookJobData = { job_id: record.id, tenant: record.tenant, url: record.webhook.url, webhook_id: webhookId, event, payload, ...(record.trace === null ? {} : { trace: record.trace }) };
  await deps.store.update(record.id, { webhook_status: 'pending' });
  await deps.webhooks.add(WEBHOOK_JOB_NAME, data, webhookJobOptions(deps.config, webhookId));
}

/** Queues one step of a batch; a repeated request for the same step is a no-op. */
export async function enqueueBatchStep(deps: Pick<AnnounceDeps, 'batchQueue' | 'config'>, batchId: string, action: BatchJobData['action']): Promise<void> {
  const data: BatchJobData = { batch_id: batchId, action };
  await deps.batchQueue.add(action, data, batchStepOptions(batchId, action, keptEntries(deps.config.queues)));
}

/**
 * Everything that follows a job's terminal status, wherever it was reached (worker, API cancel,
 * expiry sweep): metrics, usage and the deadline index (unless the write that ended it did them),
 * its webhook, and its batch's counts. Never throws: the end is written already.
 */
export async function announceJobEnded(deps: AnnounceDeps, job: string | JobRecord, options: { accounted?: boolean } = {}): Promise<void> {
  const jobId = typeof job === 'string' ? job : job.id;
  try {
    // The caller that just wrote the terminal status may pass the record as written, saving a read.
    const record = typeof job === 'string' ? await deps.store.get(jobId) : job;
    if (record === null) return;
    const models = modelCatalog(deps.config);
    countEnded(record, models);
    // The deadline index only needs jobs that can still expire (dropping ended ones keeps it the size
    // of the backlog, not of a day's traffic), sent in one write with the usage update.
    if (!options.accounted) await Promise.all(corked(deps.redis, () => [deps.store.clearExpiry([record.id]), recordUsage(deps, record, models)]));
    if (record.webhook !== null) await enqueueJobWebhook(deps, record);
    if (record.batch_id !== null && (await deps.batches.childEnded(record.batch_id, record.status === 'succeeded' ? 'completed' : 'failed'))) {
      // The last child to end starts its batch's finalizing.
      await enqueueBatchStep(deps, record.batch_id, 'finalize');
    }
  } catch (error) {
    deps.logger.error({ job_id: jobId, err: (error as Error).message }, 'could not announce the end of a job (webhook or batch count)');
  }
}

/**
 * True for an ended job whose usage its end counts: it succeeded, or it failed after a stream had
 * sent part of an answer. A canceled or expired stream is billed later, once, by the worker that
 * held its call (`Lifecycle.chargeAbandoned`), which counts it itself.
 */
const billed = (record: JobRecord): boolean => record.status === 'succeeded' || (record.status === 'failed' && (record.cost_usd !== null || record.usage !== null));

export function recordUsage(deps: Pick<AnnounceDeps, 'usage'>, record: JobRecord, models: ModelCatalog): Promise<void> | undefined {
  if (!billed(record)) return undefined;
  const provider = record.provider ?? '';
  const model = record.provider_model ?? '';
  return deps.usage.record({
    tenant: record.tenant, provider, model, usage: record.usage, costUsd: record.cost_usd, savedUsd: record.cost_details?.saved_usd ?? 0, at: record.completed_at ?? record.created_at, listed: models.listed(provider, model),
  });
}

/** The job's terminal status, tokens and cost in the process's Prometheus counters. */
function countEnded(record: JobRecord, models: ModelCatalog): void {
  const metrics = getMetrics();
  const provider = record.provider ?? record.routing.candidates[record.target]?.provider ?? 'none';
  metrics.jobs.inc({ status: record.status, provider, tier: record.tier });
  if (billed(record)) countBilled(record, models);
}

/** A billed job's tokens, cost and savings (below the real-time price: a cache hit, flex, a provider batch) in the process's counters. */
export function countBilled(record: JobRecord, models: ModelCatalog): void {
  const metrics = getMetrics();
  const provider = record.provider ?? record.routing.candidates[record.target]?.provider ?? 'none';
  const model = models.label(provider, record.provider_model ?? '');
  if (record.usage !== null) {
    metrics.tokens.inc({ provider, model, kind: 'prompt' }, record.usage.prompt_tokens);
    metrics.tokens.inc({ provider, model, kind: 'completion' }, record.usage.completion_tokens);
  }
  if (record.cost_usd !== null) metrics.cost.inc({ provider, model, tenant: record.tenant }, record.cost_usd);
  const saved = record.cost_details?.saved_usd ?? 0;
  const mode = record.cache?.hit === true ? 'cache' : (record.execution?.mode ?? 'realtime');
  if (saved > 0) metrics.saved.inc({ provider, model, tenant: record.tenant, mode }, saved);
}
