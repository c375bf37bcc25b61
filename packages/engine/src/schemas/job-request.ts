import { z } from 'zod';
import { ChatMessageSchema, EncodingFormatSchema, MAX_CACHE_TTL_S, type EmbeddingInput } from '@sluice/shared';

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

/** What a job asks for: a chat completion (every job made before embeddings) or embeddings. */
export const JOB_ENDPOINTS = ['/v1/chat/completions', '/v1/embeddings'] as const;
export type JobEndpoint = (typeof JOB_ENDPOINTS)[number];
const ENDPOINT_MESSAGE = `expected one of ${JOB_ENDPOINTS.map((endpoint) => `"${endpoint}"`).join(', ')}`;

/** Chat-completions parameters Sluice checks; any other parameter passes through to the provider. */
const chatParameters = {
  /** Sluice's job field on `POST /v1/jobs`: a chat job may name its endpoint, or leave it out. */
  endpoint: z.literal('/v1/chat/completions', ENDPOINT_MESSAGE).optional(),
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

/** Request fields that shape how the answer goes out (or say what kind of job it is), not what the provider is asked. */
const DELIVERY_FIELDS: readonly string[] = ['stream', 'stream_options', 'endpoint'];

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

/** Inputs one embeddings request may hold (OpenAI's limit). */
export const MAX_EMBEDDING_INPUTS = 2048;
/** Token ids one token-array input may hold (OpenAI's per-input limit). */
export const MAX_EMBEDDING_INPUT_TOKENS = 8192;
/** The largest `dimensions` a request may ask for; each target's own limit is checked at routing. */
export const MAX_EMBEDDING_DIMENSIONS = 8192;

const isTokenId = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/**
 * `input` as OpenAI takes it (a string, strings, token ids, or arrays of token ids), normalized to a
 * list of inputs; a problem is named with its path (`input.3`).
 */
const EmbeddingInputSchema = z.unknown().transform((value, context): EmbeddingInput => {
  const problem = (message: string, path: (string | number)[] = []): never => {
    context.addIssue({ code: 'custom', message, path, input: value });
    return z.NEVER;
  };
  const tokens = (ids: unknown[], path: (string | number)[]): number[] => {
    if (ids.length === 0) return problem('a token array must hold at least one token id', path);
    if (ids.length > MAX_EMBEDDING_INPUT_TOKENS) return problem(`a token array may hold at most ${MAX_EMBEDDING_INPUT_TOKENS} token ids; it holds ${ids.length}`, path);
    return ids as number[];
  };
  if (value === undefined) return problem('required (a string or an array of strings)');
  if (typeof value === 'string') return value === '' ? problem('must not be an empty string') : [value];
  if (!Array.isArray(value)) return problem('expected a string, an array of strings, an array of token ids, or an array of token-id arrays');
  if (value.length === 0) return problem('must not be an empty array');
  if (value.every(isTokenId)) return [tokens(value, [])];
  if (value.length > MAX_EMBEDDING_INPUTS) return problem(`at most ${MAX_EMBEDDING_INPUTS} inputs per request; got ${value.length}`);
  if (value.every((item) => typeof item === 'string')) {
    const empty = value.findIndex((item) => item === '');
    return empty === -1 ? value : problem('must not be an empty string', [empty]);
  }
  if (value.every((item) => Array.isArray(item))) {
    const bad = value.findIndex((item: unknown[]) => !item.every(isTokenId));
    if (bad !== -1) return problem('a token array holds non-negative integer token ids only', [bad]);
    return value.map((item: unknown[], index) => tokens(item, [index]));
  }
  return problem('an array of inputs holds all strings or all token-id arrays, not a mix or other values');
});

/**
 * An embeddings job: OpenAI's `/v1/embeddings` body and Sluice's job fields. Strict: a field
 * Sluice does not support is refused with a 400 naming it, never dropped or passed on unchecked.
 */
export const EmbeddingsJobRequestSchema = z
  .object({
    endpoint: z.literal('/v1/embeddings', ENDPOINT_MESSAGE).default('/v1/embeddings'),
    model: z.string().min(1).max(256),
    input: EmbeddingInputSchema,
    encoding_format: EncodingFormatSchema.default('float'),
    dimensions: z.number().int().min(1).max(MAX_EMBEDDING_DIMENSIONS).optional(),
    user: z.string().max(256).optional(),
    stream: z.literal(false, 'embeddings do not stream: leave stream out or set it false').optional(),
    ...jobFields,
  })
  .strict();
export type EmbeddingsJobRequest = z.infer<typeof EmbeddingsJobRequestSchema>;

/** A validated request of either kind. */
export type AnyJobRequest = JobRequest | EmbeddingsJobRequest;

export const isEmbeddingsRequest = (request: AnyJobRequest): request is EmbeddingsJobRequest => request.endpoint === '/v1/embeddings';

/** The schema a job body is validated with: by its `endpoint` (chat completions when it names none). */
export const jobRequestSchemaFor = (endpoint: unknown): typeof JobRequestSchema | typeof EmbeddingsJobRequestSchema =>
  endpoint === '/v1/embeddings' ? EmbeddingsJobRequestSchema : JobRequestSchema;

/** The provider-bound part of a request: what its job stores (the record's `request`). */
export interface ProviderBoundRequest {
  messages: JobRequest['messages'];
  params: Record<string, unknown>;
  endpoint?: '/v1/embeddings';
  input?: EmbeddingInput;
}

/** Splits a validated job request into the provider-bound part and Sluice's own fields. */
export function splitJobRequest(request: AnyJobRequest): ProviderBoundRequest {
  if (isEmbeddingsRequest(request)) {
    const { encoding_format, dimensions, user } = request;
    const params = { encoding_format, ...(dimensions === undefined ? {} : { dimensions }), ...(user === undefined ? {} : { user }) };
    return { endpoint: request.endpoint, messages: [], input: request.input, params };
  }
  const { model: _model, messages, ...rest } = request;
  const params: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(rest)) {
    if (!(JOB_FIELD_NAMES as string[]).includes(key) && value !== undefined && !DELIVERY_FIELDS.includes(key)) params[key] = value;
  }
  return { messages, params };
}
