import { z } from 'zod';
import { CacheRequestSchema, MAX_DEADLINE_S, MetadataSchema, PrioritySchema, TierSchema, WebhookTargetSchema } from '@sluice/engine';

/**
 * The body of `POST /v1/responses` that Sluice takes: the Responses API's fields it can carry into a
 * chat job, and Sluice's job fields (`priority`, `tier`, `deadline_s`, `webhook`, `fallbacks`,
 * `cache`). Anything else is refused with a 400 naming it, never dropped: built-in tools,
 * `conversation`, `prompt`, `include`, `truncation: "auto"`, reasoning summaries, file inputs.
 */

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The text of a part, at most what a body can hold anyway. */
const TextSchema = z.string();

const InputTextPartSchema = z.object({ type: z.literal('input_text'), text: TextSchema }).strict();
const InputImagePartSchema = z
  .object({
    type: z.literal('input_image'),
    image_url: z.string().min(1, 'an input_image needs an image_url (a URL or a data: URL)'),
    file_id: z.null({ error: 'input_image by file_id is not supported: send image_url (a URL or a data: URL)' }).optional(),
    detail: z.enum(['low', 'high', 'auto', 'original']).nullish(),
  })
  .strict();
/** Earlier assistant output sent back as input. */
const OutputTextPartSchema = z.object({ type: z.literal('output_text'), text: TextSchema, annotations: z.array(z.unknown()).optional(), logprobs: z.array(z.unknown()).nullish() }).strict();
const RefusalPartSchema = z.object({ type: z.literal('refusal'), refusal: TextSchema }).strict();

const unsupportedPart = (issue: { input?: unknown }): string => {
  const type = isObject(issue.input) ? issue.input.type : undefined;
  return `content part type ${JSON.stringify(type)} is not supported here: user, system and developer messages take input_text and input_image parts, assistant messages output_text and refusal parts`;
};

const InputPartSchema = z.discriminatedUnion('type', [InputTextPartSchema, InputImagePartSchema], { error: unsupportedPart });
const AssistantPartSchema = z.discriminatedUnion('type', [OutputTextPartSchema, RefusalPartSchema], { error: unsupportedPart });

/** Content as parts: a string is one text part of `textType` (a union would hide which part is wrong). */
const partsOf = <S extends z.ZodType>(part: S, textType: string, min: number) =>
  z.preprocess((content) => (typeof content === 'string' ? [{ type: textType, text: content }] : content), z.array(part).min(min));

/** Fields every item may carry that change nothing (an id it was given, its status when it was output). */
const itemBookkeeping = { id: z.string().max(256).nullish(), status: z.enum(['in_progress', 'completed', 'incomplete']).nullish() };

const InputMessageSchema = z
  .object({ type: z.literal('message'), role: z.enum(['user', 'system', 'developer']), content: partsOf(InputPartSchema, 'input_text', 1), ...itemBookkeeping })
  .strict();
const AssistantMessageSchema = z
  .object({ type: z.literal('message'), role: z.literal('assistant'), content: partsOf(AssistantPartSchema, 'output_text', 0), ...itemBookkeeping, phase: z.string().nullish() })
  .strict();
const FunctionCallItemSchema = z
  .object({ type: z.literal('function_call'), call_id: z.string().min(1).max(256), name: z.string().min(1).max(256), arguments: z.string(), ...itemBookkeeping })
  .strict();
const FunctionCallOutputItemSchema = z
  .object({
    type: z.literal('function_call_output'),
    call_id: z.string().min(1).max(256),
    output: partsOf(InputPartSchema, 'input_text', 1),
    ...itemBookkeeping,
  })
  .strict();
const ItemReferenceSchema = z.object({ type: z.literal('item_reference'), id: z.string().min(1).max(256) }).strict();

/** A message item may leave out its `type`, and an item reference too. */
function withType(item: unknown): unknown {
  if (!isObject(item) || item.type !== undefined) return item;
  if ('role' in item) return { ...item, type: 'message' };
  return 'id' in item ? { ...item, type: 'item_reference' } : item;
}

const SUPPORTED_ITEMS = 'message, function_call, function_call_output and item_reference';

const MessageItemSchema = z.discriminatedUnion('role', [InputMessageSchema, AssistantMessageSchema], {
  error: (issue) => `role ${JSON.stringify(isObject(issue.input) ? issue.input.role : undefined)} is not one of user, system, developer, assistant`,
});

const InputItemSchema = z.preprocess(
  withType,
  z.discriminatedUnion('type', [MessageItemSchema, FunctionCallItemSchema, FunctionCallOutputItemSchema, ItemReferenceSchema], {
    error: (issue) => `input item type ${JSON.stringify(isObject(issue.input) ? issue.input.type : undefined)} is not supported: Sluice takes ${SUPPORTED_ITEMS} items`,
  }),
);
export type InputItem = z.output<typeof InputItemSchema>;

const FunctionToolSchema = z
  .object({
    type: z.literal('function'),
    name: z.string().min(1).max(256),
    description: z.string().nullish(),
    parameters: z.record(z.string(), z.unknown()).nullish(),
    strict: z.boolean().nullish(),
  })
  .strict();
export type FunctionTool = z.output<typeof FunctionToolSchema>;

const ToolSchema = z.discriminatedUnion('type', [FunctionToolSchema], {
  error: (issue) => `tool type ${JSON.stringify(isObject(issue.input) ? issue.input.type : undefined)} is not supported: Sluice runs function tools only (built-in tools such as web_search or file_search run on the vendor's own servers)`,
});

const ToolChoiceSchema = z.union(
  [z.enum(['none', 'auto', 'required']), z.object({ type: z.literal('function'), name: z.string().min(1).max(256) }).strict()],
  { error: () => 'tool_choice must be "none", "auto", "required" or {"type": "function", "name": …} (allowed_tools and built-in tool choices are not supported)' },
);
export type ToolChoice = z.output<typeof ToolChoiceSchema>;

const TextFormatSchema = z.discriminatedUnion(
  'type',
  [
    z.object({ type: z.literal('text') }).strict(),
    z.object({ type: z.literal('json_object') }).strict(),
    z
      .object({
        type: z.literal('json_schema'),
        name: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'name is 1-64 letters, digits, _ or -'),
        schema: z.record(z.string(), z.unknown()),
        description: z.string().nullish(),
        strict: z.boolean().nullish(),
      })
      .strict(),
  ],
  { error: () => 'text.format.type must be text, json_object or json_schema' },
);
export type TextFormat = z.output<typeof TextFormatSchema>;

const ReasoningSchema = z
  .object({
    effort: z.enum(['none', 'minimal', 'low', 'medium', 'high', 'xhigh', 'max']).nullish(),
    summary: z.null({ error: 'reasoning summaries are not supported: Sluice returns no reasoning items' }).optional(),
  })
  .strict();

/** The create body, checked field by field (unknown fields are refused before this runs). */
export const CreateResponseSchema = z.object({
  model: z.string().min(1).max(256),
  // A string is one user message.
  input: z.preprocess((input) => (typeof input === 'string' ? [{ type: 'message', role: 'user', content: input }] : input), z.array(InputItemSchema).min(1).max(10_000)),
  instructions: z.string().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  tools: z.array(ToolSchema).max(128).nullish(),
  tool_choice: ToolChoiceSchema.nullish(),
  parallel_tool_calls: z.boolean().nullish(),
  text: z.object({ format: TextFormatSchema.nullish(), verbosity: z.enum(['low', 'medium', 'high']).nullish() }).strict().nullish(),
  reasoning: ReasoningSchema.nullish(),
  metadata: MetadataSchema.nullish(),
  store: z.boolean().nullish(),
  previous_response_id: z.string().max(256).nullish(),
  background: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  user: z.string().max(256).nullish(),
  safety_identifier: z.string().max(64).nullish(),
  prompt_cache_key: z.string().max(256).nullish(),
  service_tier: z.enum(['auto', 'default', 'flex', 'scale', 'priority']).nullish(),
  truncation: z.literal('disabled', { error: 'truncation "auto" is not supported: a prompt too long for the model fails (truncation "disabled")' }).nullish(),
  include: z.array(z.string()).max(0, 'include is not supported: Sluice adds no extra output (logprobs, encrypted reasoning, tool sources)').nullish(),
  // Sluice's own, as on POST /v1/jobs: the priority class, cost tier, deadline, signed webhook,
  // extra targets and response cache (checked in full as a job request's).
  priority: PrioritySchema.optional(),
  tier: TierSchema.optional(),
  deadline_s: z.number().int().min(1).max(MAX_DEADLINE_S).optional(),
  webhook: WebhookTargetSchema.optional(),
  fallbacks: z.array(z.string()).max(10).optional(),
  cache: CacheRequestSchema.optional(),
});
export type CreateResponse = z.output<typeof CreateResponseSchema>;

const KNOWN_FIELDS: ReadonlySet<string> = new Set(Object.keys(CreateResponseSchema.shape));

/** The body's fields Sluice does not take (a null counts as absent). */
export function unsupportedFields(body: Record<string, unknown>): string[] {
  return Object.keys(body).filter((name) => !KNOWN_FIELDS.has(name) && body[name] !== null && body[name] !== undefined);
}
