/**
 * Sluice's own span attributes, beside the OpenTelemetry conventions' (`http.*`, `gen_ai.*`, …).
 * None carries prompt or completion text.
 */
export const SLUICE_ATTRIBUTES = {
  jobId: 'sluice.job_id',
  tenant: 'sluice.tenant',
  route: 'sluice.route',
  requestId: 'sluice.request_id',
  /** The provider's id in config (`gen_ai.provider.name` names its vendor). */
  provider: 'sluice.provider',
  /** The call's number among the job's calls, from 1. */
  attempt: 'sluice.attempt',
  /** `realtime`, `flex` or `provider_batch`. */
  executionMode: 'sluice.execution_mode',
  costUsd: 'sluice.cost_usd',
  /** How the call ended: `succeeded`, `retryable_error`, `timeout`, `rate_limited`, `fatal_error`, … */
  outcome: 'sluice.outcome',
  /** What the job did next: `succeeded`, `retry`, `failover`, `rate_limited`, `ended`. */
  next: 'sluice.next',
  /** Why: a retry's (`backoff`, `default_tier`), a failover's, or the code the job ended with. */
  nextReason: 'sluice.next_reason',
  /** Why the job failed over to its next target (`retries_exhausted`, `circuit_open`, `auth_error`, `context_length_exceeded`). */
  failoverReason: 'sluice.failover_reason',
  queue: 'sluice.queue',
  entry: 'sluice.queue_entry',
  webhookId: 'sluice.webhook.id',
  webhookEvent: 'sluice.webhook.event',
  webhookAttempt: 'sluice.webhook.attempt',
  webhookOutcome: 'sluice.webhook.outcome',
  providerBatchId: 'sluice.provider_batch.id',
  providerBatchKey: 'sluice.provider_batch.key',
  providerBatchSize: 'sluice.provider_batch.size',
  providerBatchState: 'sluice.provider_batch.state',
} as const;
