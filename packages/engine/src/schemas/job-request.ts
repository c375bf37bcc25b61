import { z } from 'zod';
import { ChatMessageSchema, MAX_CACHE_TTL_S } from '@sluice/shared';

export const PrioritySchema = z.enum(['high', 'normal', 'low']);
export type Priority = z.infer<typeof PrioritySchema>;
/** Where a priority class runs: `high` (0) before `normal` (1) before `low` (2). */
export const PRIORITY_RANK: Record<Priority, number> = { high: 0, normal: 1, low: 2 };
/** True when `priority` runs before `than`. */
export const priorityAbove = (priority: Priority, than: Priority): boolean => PRIORITY_RANK[priority] < PRIORITY_RANK[than];
/** The later-running of two priority classes: a priority held to a ceiling. */
export const lowerPriority = (priority: Priority, ceiling: Priority): Priority => (priorityAbove(priority, ceiling) ? ceiling : priority);
export const TierSchema = z.enum(['economy', 'standard', 'premium']);
export type Tier = z.infer<typeof TierSchema>;

/** Where a job's or batch's signed webhook goes: an http(s) URL of at most 2,048 characters. */
export const WebhookTargetSchema = z.object({ url: z.string().max(2048).pipe(z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' })) }).strict();

/** A client's own labels: at most 16 keys of 64 characters, values of 512. */
export const MetadataSchema = z.record(z.string().min(1).max(64), z.string().max(512)).refine((value) => Object.keys(value).length <= 16, 'at most 16 metadata keys');

/**
 * A request's opt-in to the response cache: answer from a stored result when an identical request
 * succeeded within `ttl_s`, and store this one's for `ttl_s`. 0 turns off the route's `cache_ttl_s`.
 */
export const CacheRequestSchema = z.object({ ttl_s: z.number().int().min(0).max(MAX_CACHE_TTL_S) }).strict();

/** The longest deadline a job may have: 30 days. */
export const MAX_DEADLINE_S = 30 * 86_400;

const TargetNameSchema = z.string().max(256).regex(/^[a-z0-9][a-z0-9_-]*\/.+$/i, 'expected "provider/model"');

/** Chat-completions parameters Sluice checks; any other parameter passes through to the provider. */
const chatParameters = {
  model: z.string().min(1).max(256),
  messages: z.array(ChatMessageSchema).min(1).max(10_000),
  max_tokens: z.number().int().positive().optional(),
  max_completion_tokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).optional(),
  top_p: z.number().min(0).max(1).optional(),
  n: z.literal(1, 'only n=1 is supported').optional(),
  stop: z.union([z.string(), z.array(z.string()).max(4)]).nullable().optional(),
  seed: z.number().int().optional(),
  presence_penalty: z.number().min(-2).max(2).optional(),
  frequency_penalty: z.number().min(-2).max(2).optional(),
  response_format: z.object({ type: z.string() }).loose().optional(),
  tools: z.array(z.object({ type: z.string(), function: z.object({ name: z.string().min(1).max(256) }).loose().optional() }).loose()).max(128).optional(),
  tool_choice: z.union([z.string(), z.object({ type: z.string() }).loose()]).optional(),
  user: z.string().max(256).optional(),
  /** The output goes out as it is generated: SSE chunks on the chat path, `delta` events on the job's event stream. */
  stream: z.boolean().optional(),
  /** `include_usage`: a streamed answer ends with a chunk carrying the usage (`choices: []`). */
  stream_options: z.object({ include_usage: z.boolean().optional() }).strict().nullable().optional(),
};

/** Request fields that shape how the answer goes out, not what the provider is asked. */
const DELIVERY_FIELDS: readonly string[] = ['stream', 'stream_options'];

/** Sluice's own job fields; they never reach a provider. */
const jobFields = {
  priority: PrioritySchema.default('normal'),
  tier: TierSchema.default('standard'),
  fallbacks: z.array(TargetNameSchema).max(10).default([]),
  webhook: WebhookTargetSchema.optional(),
  deadline_s: z.number().int().min(1).max(MAX_DEADLINE_S).optional(),
  metadata: MetadataSchema.default({}),
  cache: CacheRequestSchema.optional(),
};

export const JOB_FIELD_NAMES = Object.keys(jobFields) as (keyof typeof jobFields)[];

export const JobRequestSchema = z
  .object({ ...chatParameters, ...jobFields })
  .loose()
  .superRefine((request, context) => {
    if (request.stream_options != null && request.stream !== true) {
      context.addIssue({ code: 'custom', path: ['stream_options'], message: 'stream_options is only allowed when stream is true' });
    }
  });
export type JobRequest = z.infer<typeof JobRequestSchema>;

/** Splits a validated job request into the provider-bound part and Sluice's own fields. */
export function splitJobRequest(request: JobRequest): { messages: JobRequest['messages']; params: Record<string, unknown> } {
  const { model: _model, messages, ...rest } = request;
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (!(JOB_FIELD_NAMES as string[]).includes(key) && value !== undefined && !DELIVERY_FIELDS.includes(key)) params[key] = value;
  }
  return { messages, params };
}
