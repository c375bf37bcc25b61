import { z } from 'zod';

/** One content part; text and image parts are checked, others (audio, files) pass to providers that take them. */
export const ContentPartSchema = z
  .object({ type: z.string().min(1) })
  .loose()
  .superRefine((part, ctx) => {
    if (part.type === 'text' && typeof part.text !== 'string') {
      ctx.addIssue({ code: 'custom', path: ['text'], message: 'text parts need a string "text"' });
    }
    const image = part.image_url as { url?: unknown } | undefined;
    if (part.type === 'image_url' && (typeof image !== 'object' || image === null || typeof image.url !== 'string')) {
      ctx.addIssue({ code: 'custom', path: ['image_url', 'url'], message: 'image_url parts need a string "image_url.url"' });
    }
  });
export type ContentPart = z.infer<typeof ContentPartSchema>;

const ContentSchema = z.union([z.string(), z.array(ContentPartSchema).min(1)]);

export const ToolCallSchema = z
  .object({
    id: z.string().min(1),
    type: z.literal('function'),
    function: z.object({ name: z.string().min(1), arguments: z.string() }).loose(),
  })
  .loose();
export type ToolCall = z.infer<typeof ToolCallSchema>;

export const ChatMessageSchema = z.discriminatedUnion('role', [
  z.object({ role: z.literal('system'), content: ContentSchema, name: z.string().optional() }).loose(),
  z.object({ role: z.literal('developer'), content: ContentSchema, name: z.string().optional() }).loose(),
  z.object({ role: z.literal('user'), content: ContentSchema, name: z.string().optional() }).loose(),
  z
    .object({
      role: z.literal('assistant'),
      content: ContentSchema.nullable().optional(),
      name: z.string().optional(),
      tool_calls: z.array(ToolCallSchema).optional(),
      refusal: z.string().nullable().optional(),
    })
    .loose(),
  z.object({ role: z.literal('tool'), content: ContentSchema, tool_call_id: z.string().min(1) }).loose(),
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

const TokenCountSchema = z.number().int().nonnegative();

/**
 * The prompt tokens priced apart from the rest, all of them counted in `prompt_tokens` too:
 * `cached_tokens` read from the provider's prompt cache, and tokens written to it for five minutes
 * or one hour (providers that charge for writes price them above plain input).
 */
export const PromptTokensDetailsSchema = z
  .object({
    cached_tokens: TokenCountSchema,
    cache_write_5m_tokens: TokenCountSchema.optional(),
    cache_write_1h_tokens: TokenCountSchema.optional(),
  })
  .loose();
export type PromptTokensDetails = z.infer<typeof PromptTokensDetailsSchema>;

/** Hidden reasoning ("thinking") tokens, counted in `completion_tokens` too and billed as output. */
export const CompletionTokensDetailsSchema = z.object({ reasoning_tokens: TokenCountSchema }).loose();
export type CompletionTokensDetails = z.infer<typeof CompletionTokensDetailsSchema>;

/** Token usage in OpenAI's shape, every provider's normalized to it; the details are there when the provider reported them. */
export const UsageSchema = z
  .object({
    prompt_tokens: TokenCountSchema,
    completion_tokens: TokenCountSchema,
    total_tokens: TokenCountSchema,
    prompt_tokens_details: PromptTokensDetailsSchema.optional(),
    completion_tokens_details: CompletionTokensDetailsSchema.optional(),
  })
  .loose();
export type Usage = z.infer<typeof UsageSchema>;

export const FinishReasonSchema = z.enum(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

/** The normalized result of every provider: an OpenAI `chat.completion`. */
export const ChatCompletionSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion'),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z
        .object({
          index: z.number().int(),
          message: z
            .object({
              role: z.literal('assistant'),
              content: z.string().nullable(),
              tool_calls: z.array(ToolCallSchema).optional(),
              refusal: z.string().nullable().optional(),
            })
            .loose(),
          finish_reason: FinishReasonSchema.nullable(),
          logprobs: z.unknown().optional(),
        })
        .loose(),
    ),
    usage: UsageSchema.optional(),
    system_fingerprint: z.string().nullable().optional(),
  })
  .loose();
export type ChatCompletion = z.infer<typeof ChatCompletionSchema>;

/** What a provider adapter receives: the chat request with the provider's own model name. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  /** Every other chat-completions parameter, unchanged from the client. */
  params: Record<string, unknown>;
}

/** One tool-call fragment of a streamed delta: `index` keys the call; `id`, `type` and `name` come once, `arguments` in pieces. */
export const ToolCallDeltaSchema = z
  .object({
    index: z.number().int().nonnegative(),
    id: z.string().optional(),
    type: z.literal('function').optional(),
    function: z.object({ name: z.string().optional(), arguments: z.string().optional() }).loose().optional(),
  })
  .loose();
export type ToolCallDelta = z.infer<typeof ToolCallDeltaSchema>;

/** One event of a streamed completion: an OpenAI `chat.completion.chunk`, every provider's normalized to it. */
export const ChatCompletionChunkSchema = z
  .object({
    id: z.string(),
    object: z.literal('chat.completion.chunk'),
    created: z.number().int(),
    model: z.string(),
    system_fingerprint: z.string().nullable().optional(),
    choices: z.array(
      z
        .object({
          index: z.number().int(),
          delta: z
            .object({
              role: z.literal('assistant').optional(),
              content: z.string().nullable().optional(),
              refusal: z.string().nullable().optional(),
              tool_calls: z.array(ToolCallDeltaSchema).optional(),
            })
            .loose(),
          finish_reason: FinishReasonSchema.nullable(),
          logprobs: z.unknown().optional(),
        })
        .loose(),
    ),
    // The usage chunk (its `choices` empty) comes last; the others carry `null` or nothing.
    usage: UsageSchema.nullable().optional(),
  })
  .loose();
export type ChatCompletionChunk = z.infer<typeof ChatCompletionChunkSchema>;
