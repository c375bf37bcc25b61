import { z } from 'zod';
import { ChatCompletionSchema, ChatMessageSchema, EmbeddingListSchema, UsageSchema, type ChatCompletion } from '@sluice/shared';
import { MetadataSchema, PrioritySchema, TierSchema, type JobEndpoint } from '../schemas/job-request.ts';

/**
 * The job record: the one definition of what Redis holds for a job. The codec (job-codec.ts) lays it
 * out in a hash, the lifecycle writes it, and the HTTP job object is the public subset of it.
 */

export const JOB_STATUSES = ['queued', 'running', 'succeeded', 'failed', 'canceled', 'expired'] as const;
export const JobStatusSchema = z.enum(JOB_STATUSES);
export type JobStatus = z.infer<typeof JobStatusSchema>;
export const TERMINAL_STATUSES: readonly JobStatus[] = ['succeeded', 'failed', 'canceled', 'expired'];
export const isTerminal = (status: JobStatus): boolean => TERMINAL_STATUSES.includes(status);

export const AttemptOutcomeSchema = z.enum(['succeeded', 'retryable_error', 'fatal_error', 'timeout', 'rate_limited', 'canceled', 'interrupted']);
export type AttemptOutcome = z.infer<typeof AttemptOutcomeSchema>;

/** One provider call of a job. */
export const AttemptSchema = z.object({
  provider: z.string(),
  model: z.string(),
  started_at: z.number(),
  latency_ms: z.number(),
  outcome: AttemptOutcomeSchema,
  status_code: z.number().nullable(),
  error: z.string().nullable(),
});
export type Attempt = z.infer<typeof AttemptSchema>;

export const WebhookStatusSchema = z.enum(['pending', 'delivered', 'failed']);
export type WebhookStatus = z.infer<typeof WebhookStatusSchema>;

/** One attempt to deliver a job's webhook. */
export const WebhookDeliverySchema = z.object({
  /** The Standard Webhooks `webhook-id`: the same for every attempt of one event. */
  webhook_id: z.string(),
  event: z.string(),
  attempt: z.number(),
  at: z.number(),
  latency_ms: z.number(),
  status_code: z.number().nullable(),
  outcome: z.enum(['delivered', 'failed', 'gone', 'refused']),
  error: z.string().nullable(),
});
export type WebhookDelivery = z.infer<typeof WebhookDeliverySchema>;

export const IneligibleReasonSchema = z.enum([
  'circuit_open', 'unknown_provider', 'provider_disabled', 'context_too_long', 'over_budget', 'unsupported_parameter', 'no_price',
  // An embeddings job's: the provider type has no embeddings call, the model is known not to embed, or the request asks what the target cannot give.
  'embeddings_unsupported', 'not_an_embedding_model', 'dimensions_unsupported', 'token_input_unsupported',
]);
export type IneligibleReason = z.infer<typeof IneligibleReasonSchema>;

export const RoutingCandidateSchema = z.object({
  provider: z.string(),
  model: z.string(),
  est_cost_usd: z.number().nullable(),
  eligible: z.boolean(),
  reason: IneligibleReasonSchema.nullable(),
});
export type RoutingCandidate = z.infer<typeof RoutingCandidateSchema>;

export const FailoverSchema = z.object({ from: z.string(), to: z.string(), reason: z.string(), at: z.number() });
export type Failover = z.infer<typeof FailoverSchema>;

/** Why the job went where it went: the route, its candidates in order, and every move since. */
export const RoutingDecisionSchema = z.object({
  route: z.string(),
  strategy: z.enum(['ordered', 'cheapest']),
  tier: TierSchema,
  candidates: z.array(RoutingCandidateSchema),
  failovers: z.array(FailoverSchema),
});
export type RoutingDecision = z.infer<typeof RoutingDecisionSchema>;

/** How `cost_usd` was reached, or why it is null. */
export const CostDetailsSchema = z.object({
  /** `config`, `bundled:<price table version>` or `mock`; null when no price is known. */
  price_source: z.string().nullable(),
  input_usd_per_1m: z.number().nullable(),
  output_usd_per_1m: z.number().nullable(),
  /** Why cost_usd is null (`no_price: …`, `no_usage: …`); null when it is not. */
  reason: z.string().nullable(),
  // The rest came with cache and discount pricing: optional, so records written before still read.
  /** What a cached prompt token cost (the input rate when the price names none). */
  cached_input_usd_per_1m: z.number().nullable().optional(),
  /** What a prompt token written to the cache for 5 minutes cost. */
  cache_write_5m_usd_per_1m: z.number().nullable().optional(),
  /** What a prompt token written to the cache for 1 hour cost. */
  cache_write_1h_usd_per_1m: z.number().nullable().optional(),
  /** The execution mode's discount applied to the whole cost: `batch`, `flex`, or null for real time. */
  discount: z.enum(['batch', 'flex']).nullable().optional(),
  /** What the discount saved against real time (0 without one); null when cost_usd is null. */
  saved_usd: z.number().nullable().optional(),
});
export type CostDetails = z.infer<typeof CostDetailsSchema>;

export const EXECUTION_MODES = ['realtime', 'flex', 'provider_batch'] as const;
export const ExecutionModeSchema = z.enum(EXECUTION_MODES);
export type ExecutionMode = z.infer<typeof ExecutionModeSchema>;

/** Why a job that was deferred to a provider batch ran otherwise. */
export const FallbackReasonSchema = z.enum(['line_error', 'batch_failed', 'batch_expired', 'deadline', 'canceled_batch']);
export type FallbackReason = z.infer<typeof FallbackReasonSchema>;

/**
 * How the job runs: `realtime` (one call at list price), `flex` (one call in the provider's cheaper,
 * slower tier) or `provider_batch` (the provider's batch API). `mode` is that of the call that
 * produced the result.
 */
export const ExecutionSchema = z.object({
  mode: ExecutionModeSchema,
  /** The provider's own id of the batch the job was submitted in. */
  provider_batch_id: z.string().nullable(),
  /** Unix seconds the job was submitted in a provider batch. */
  submitted_at: z.number().nullable(),
  fallback_reason: FallbackReasonSchema.nullable(),
});
export type Execution = z.infer<typeof ExecutionSchema>;

/** What a job that was never deferred shows (its record stores nothing for it). */
export const REALTIME: Execution = { mode: 'realtime', provider_batch_id: null, submitted_at: null, fallback_reason: null };

export const JobErrorSchema = z.object({ type: z.string(), code: z.string(), message: z.string() });
export type JobError = z.infer<typeof JobErrorSchema>;

/**
 * What a job keeps of the client's request: the provider-bound part only. A chat job has its
 * messages and parameters; an embeddings job says so (`endpoint`) and has its inputs (no messages)
 * and `encoding_format`, `dimensions` and `user` as parameters. Records without `endpoint` (every
 * one written before embeddings) are chat jobs.
 */
export const StoredRequestSchema = z.object({
  messages: z.array(ChatMessageSchema),
  params: z.record(z.string(), z.unknown()),
  endpoint: z.literal('/v1/embeddings').optional(),
  input: z.union([z.array(z.string()), z.array(z.array(z.number().int()))]).optional(),
});
export type StoredRequest = z.infer<typeof StoredRequestSchema>;

/** What kind of job a record is: the endpoint its request was for. */
export const jobEndpoint = (record: Pick<JobRecord, 'request'>): JobEndpoint => record.request.endpoint ?? '/v1/chat/completions';

/** A job's answer: a `chat.completion`, or an embeddings `list`. */
export const JobResultSchema = z.discriminatedUnion('object', [ChatCompletionSchema, EmbeddingListSchema]);
export type JobResult = z.infer<typeof JobResultSchema>;

/** The result when it is a `chat.completion` (a chat job's), else null. */
export const chatResult = (result: JobResult | null): ChatCompletion | null => (result?.object === 'chat.completion' ? result : null);

/**
 * What the response cache did for the job: `{hit: true, key_age_s}` when it was answered from a
 * stored result (`key_age_s` seconds old), `{hit: false}` when it asked for caching and missed.
 */
export const CacheOutcomeSchema = z.object({ hit: z.boolean(), key_age_s: z.number().int().optional() });
export type CacheOutcome = z.infer<typeof CacheOutcomeSchema>;

/** Where a job that missed stores its result when it succeeds: its cache key and the entry's lifetime. */
export const CacheEntryRefSchema = z.object({ key: z.string(), ttl_s: z.number().int().positive() });
export type CacheEntryRef = z.infer<typeof CacheEntryRefSchema>;

/**
 * The W3C trace context of the request that submitted a job (`traceparent`, and `tracestate` when
 * there is one), kept when tracing is on: the worker's and the webhook deliverer's spans continue it.
 */
export const TraceContextSchema = z.object({ traceparent: z.string().max(55), tracestate: z.string().max(512).optional() });

/** How a streamed job's output goes out: deltas in its stream, and whether the client wants the usage chunk. */
export const StreamOptionsSchema = z.object({ include_usage: z.boolean() });
export type StreamOptions = z.infer<typeof StreamOptionsSchema>;

/**
 * What a job made by `POST /v1/responses` keeps beyond its chat request, to answer as a response and
 * to be continued by a later one (`previous_response_id`). Fixed at submit.
 */
export const ResponseSettingsSchema = z.object({
  /** The first message is the request's `instructions` (a system message): a response that continues this one leaves it out. */
  instructions: z.boolean(),
  /** False: the response may not be continued by a later one (its record still lives its usual life). */
  store: z.boolean(),
  background: z.boolean(),
  previous_response_id: z.string().nullable(),
});
export type ResponseSettings = z.infer<typeof ResponseSettingsSchema>;

/** The job record in Redis, as the store reads it back. */
export const JobRecordSchema = z.object({
  id: z.string().min(1),
  tenant: z.string(),
  status: JobStatusSchema,
  model: z.string(),
  priority: PrioritySchema,
  tier: TierSchema,
  created_at: z.number(),
  started_at: z.number().nullable(),
  completed_at: z.number().nullable(),
  expires_at: z.number(),
  request: StoredRequestSchema,
  routing: RoutingDecisionSchema,
  /** Index into routing.candidates of the target the job is queued on. */
  target: z.number().int(),
  /** The id of the one live BullMQ job that carries this record; any other entry is stale. */
  queue_job_id: z.string(),
  /** Attempts made on the current target. */
  tries: z.number().int(),
  /** Candidate indexes this job used up in the current round (retries spent, or refused for good). */
  exhausted: z.array(z.number().int()),
  /** The subset of `exhausted` that will not take the job on a later try either (context too long, refused credentials, killed workers): no new round retries them. */
  refused: z.array(z.number().int()),
  /** Provider calls made before the job was last replayed from the dead letters (`jobs.max_attempts` counts the ones after). */
  replayed_calls: z.number().int(),
  /** Estimated USD reserved against the tenant's budget at submit, settled when the job ends. */
  reserved_usd: z.number(),
  /** Unix ms the current provider call started; set while running, to tell an interrupted run. */
  running_since: z.number().nullable(),
  provider: z.string().nullable(),
  provider_model: z.string().nullable(),
  result: JobResultSchema.nullable(),
  error: JobErrorSchema.nullable(),
  usage: UsageSchema.nullable(),
  cost_usd: z.number().nullable(),
  cost_details: CostDetailsSchema.nullable(),
  /** Null for a job that was only ever real time. */
  execution: ExecutionSchema.nullable(),
  attempts: z.array(AttemptSchema),
  webhook: z.object({ url: z.string() }).nullable(),
  webhook_status: WebhookStatusSchema.nullable(),
  deliveries: z.array(WebhookDeliverySchema),
  batch_id: z.string().nullable(),
  /** The batch line's `custom_id`, for batch children. */
  custom_id: z.string().nullable(),
  metadata: MetadataSchema,
  /** Null for a job that did not ask for caching. */
  cache: CacheOutcomeSchema.nullable(),
  /** Set on a job that missed the cache: where its success is stored. */
  cache_entry: CacheEntryRefSchema.nullable(),
  /** Set on a job that streams: its output deltas are written to its stream as they come. */
  stream: StreamOptionsSchema.nullable(),
  /** Set on a job made by `POST /v1/responses`. */
  response: ResponseSettingsSchema.nullable(),
  /** The submitting request's trace context; null when tracing was off. */
  trace: TraceContextSchema.nullable(),
});
export type JobRecord = z.infer<typeof JobRecordSchema>;

/** Record fields the HTTP job object shows as they are; the rest are Sluice's bookkeeping. */
const PUBLIC_FIELDS = [
  'id', 'status', 'model', 'priority', 'tier', 'created_at', 'started_at', 'completed_at', 'expires_at', 'provider', 'provider_model',
  'result', 'error', 'usage', 'cost_usd', 'cost_details', 'attempts', 'routing', 'batch_id', 'custom_id', 'metadata', 'cache',
] as const satisfies readonly (keyof JobRecord)[];

/**
 * The job object of the HTTP API: the record's public fields, what kind of job it is, and its
 * webhook and deliveries as one. `Result` is the kind of answer: a chat job's unless named
 * (`JobObject<EmbeddingList>`, or `JobObject<JobResult>` for a job of either kind).
 */
export type JobObject<Result extends JobResult = ChatCompletion> = Omit<Pick<JobRecord, (typeof PUBLIC_FIELDS)[number]>, 'result'> & {
  object: 'job';
  endpoint: JobEndpoint;
  result: Result | null;
  execution: Execution;
  webhook: { url: string; status: WebhookStatus; deliveries: WebhookDelivery[] } | null;
};

/**
 * Provider calls the job has made towards `jobs.max_attempts`: every attempt but provider rate
 * limits and cancels (they spend none), since its last replay.
 */
export function callsMade(record: JobRecord): number {
  return record.attempts.filter((attempt) => attempt.outcome !== 'rate_limited' && attempt.outcome !== 'canceled').length - record.replayed_calls;
}

export function toJobObject(record: JobRecord): JobObject<JobResult> {
  const shown: Record<string, unknown> = { id: record.id, object: 'job', endpoint: jobEndpoint(record) };
  for (const name of PUBLIC_FIELDS) {
    shown[name] = record[name];
    if (name === 'cost_details') shown.execution = record.execution ?? REALTIME;
    // The webhook follows the routing, where clients have always found it.
    if (name === 'routing') shown.webhook = record.webhook ? { url: record.webhook.url, status: record.webhook_status ?? 'pending', deliveries: record.deliveries } : null;
  }
  return shown as JobObject<JobResult>;
}
