import type { ChatCompletion, ChatMessage, Usage } from '@sluice/shared';
import type { Priority, Tier } from '../schemas/job-request.ts';

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled', 'expired'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];
export const isTerminal = (status: JobStatus): boolean => TERMINAL_STATUSES.includes(status);

export type AttemptOutcome = 'succeeded' | 'retryable_error' | 'fatal_error' | 'timeout' | 'rate_limited' | 'canceled' | 'interrupted';

export interface Attempt {
  provider: string;
  model: string;
  started_at: number;
  latency_ms: number;
  outcome: AttemptOutcome;
  status_code: number | null;
  error: string | null;
}

export type WebhookStatus = 'pending' | 'delivered' | 'failed';

/** One attempt to deliver a job's webhook. */
export interface WebhookDelivery {
  /** The Standard Webhooks `webhook-id`: the same for every attempt of one event. */
  webhook_id: string;
  event: string;
  attempt: number;
  at: number;
  latency_ms: number;
  status_code: number | null;
  outcome: 'delivered' | 'failed' | 'gone' | 'refused';
  error: string | null;
}

export type IneligibleReason = 'circuit_open' | 'unknown_provider' | 'provider_disabled' | 'context_too_long' | 'over_budget' | 'unsupported_parameter' | 'no_price';

export interface RoutingCandidate {
  provider: string;
  model: string;
  est_cost_usd: number | null;
  eligible: boolean;
  reason: IneligibleReason | null;
}

export interface Failover {
  from: string;
  to: string;
  reason: string;
  at: number;
}

export interface RoutingDecision {
  route: string;
  strategy: 'ordered' | 'cheapest';
  tier: Tier;
  candidates: RoutingCandidate[];
  failovers: Failover[];
}

/** How `cost_usd` was reached, or why it is null. */
export interface CostDetails {
  /** `config`, `bundled:<price table version>` or `mock`; null when no price is known. */
  price_source: string | null;
  input_usd_per_1m: number | null;
  output_usd_per_1m: number | null;
  /** Why cost_usd is null (`no_price: …`, `no_usage: …`); null when it is not. */
  reason: string | null;
}

export interface JobError {
  type: string;
  code: string;
  message: string;
}

/** What a job keeps of the client's request: the provider-bound part only. */
export interface StoredRequest {
  messages: ChatMessage[];
  params: Record<string, unknown>;
}

/** The job record in Redis, as the store reads it back. */
export interface JobRecord {
  id: string;
  tenant: string;
  status: JobStatus;
  model: string;
  priority: Priority;
  tier: Tier;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number;
  request: StoredRequest;
  routing: RoutingDecision;
  /** Index into routing.candidates of the target the job is queued on. */
  target: number;
  /** The id of the one live BullMQ job that carries this record; any other entry is stale. */
  queue_job_id: string;
  /** Attempts made on the current target. */
  tries: number;
  /** Candidate indexes this job used up in the current round (retries spent, or refused for good). */
  exhausted: number[];
  /** The subset of `exhausted` that will not take the job on a later try either (context too long, refused credentials, killed workers): no new round retries them. */
  refused: number[];
  /** Provider calls made before the job was last replayed from the dead letters (`jobs.max_attempts` counts the ones after). */
  replayed_calls: number;
  /** Estimated USD reserved against the tenant's budget at submit, settled when the job ends. */
  reserved_usd: number;
  /** Unix ms the current provider call started; set while running, to tell an interrupted run. */
  running_since: number | null;
  provider: string | null;
  provider_model: string | null;
  result: ChatCompletion | null;
  error: JobError | null;
  usage: Usage | null;
  cost_usd: number | null;
  cost_details: CostDetails | null;
  attempts: Attempt[];
  webhook: { url: string } | null;
  webhook_status: WebhookStatus | null;
  deliveries: WebhookDelivery[];
  batch_id: string | null;
  /** The batch line's `custom_id`, for batch children. */
  custom_id: string | null;
  metadata: Record<string, string>;
}

/** The job object of the HTTP API (DESIGN.md §3). */
export interface JobObject {
  id: string;
  object: 'job';
  status: JobStatus;
  model: string;
  priority: Priority;
  tier: Tier;
  created_at: number;
  started_at: number | null;
  completed_at: number | null;
  expires_at: number;
  provider: string | null;
  provider_model: string | null;
  result: ChatCompletion | null;
  error: JobError | null;
  usage: Usage | null;
  cost_usd: number | null;
  cost_details: CostDetails | null;
  attempts: Attempt[];
  routing: RoutingDecision;
  webhook: { url: string; status: WebhookStatus; deliveries: WebhookDelivery[] } | null;
  batch_id: string | null;
  custom_id: string | null;
  metadata: Record<string, string>;
}

/**
 * Provider calls the job has made towards `jobs.max_attempts`: every attempt but provider rate
 * limits and cancels (they spend none), since its last replay.
 */
export function callsMade(record: JobRecord): number {
  return record.attempts.filter((attempt) => attempt.outcome !== 'rate_limited' && attempt.outcome !== 'canceled').length - record.replayed_calls;
}

export function toJobObject(record: JobRecord): JobObject {
  return {
    id: record.id,
    object: 'job',
    status: record.status,
    model: record.model,
    priority: record.priority,
    tier: record.tier,
    created_at: record.created_at,
    started_at: record.started_at,
    completed_at: record.completed_at,
    expires_at: record.expires_at,
    provider: record.provider,
    provider_model: record.provider_model,
    result: record.result,
    error: record.error,
    usage: record.usage,
    cost_usd: record.cost_usd,
    cost_details: record.cost_details,
    attempts: record.attempts,
    routing: record.routing,
    webhook: record.webhook ? { url: record.webhook.url, status: record.webhook_status ?? 'pending', deliveries: record.deliveries } : null,
    batch_id: record.batch_id,
    custom_id: record.custom_id,
    metadata: record.metadata,
  };
}
