import { z } from 'zod';
import { AnthropicMessageSchema } from './wire-schemas.ts';

const Index = z.number().int().nonnegative();

/** `message_start`: the message with empty content, its input usage (cache reads and writes included). */
export const MessageStartSchema = z.object({ type: z.literal('message_start'), message: AnthropicMessageSchema }).loose();

/** `content_block_start`: a text, tool_use, thinking or other block opens at slot `index`. */
export const ContentBlockStartSchema = z
  .object({
    type: z.literal('content_block_start'),
    index: Index,
    content_block: z.object({ type: z.string(), text: z.string().optional(), id: z.string().optional(), name: z.string().optional() }).loose(),
  })
  .loose();

/** `content_block_delta`: text_delta, input_json_delta, thinking_delta, signature_delta, citations_delta… */
export const ContentBlockDeltaSchema = z
  .object({
    type: z.literal('content_block_delta'),
    index: Index,
    delta: z.object({ type: z.string(), text: z.string().optional(), partial_json: z.string().optional() }).loose(),
  })
  .loose();

/** `content_block_stop`: the block at slot `index` is whole. */
export const ContentBlockStopSchema = z.object({ type: z.literal('content_block_stop'), index: Index }).loose();

const Usage = AnthropicMessageSchema.shape.usage.shape;
const DeltaCount = z.number().int().nonnegative().nullable().optional();

/** The usage a `message_delta` reports: any count may be missing or null (not reported), the others are cumulative. */
export const MessageDeltaUsageSchema = z
  .object({
    input_tokens: DeltaCount,
    output_tokens: DeltaCount,
    cache_creation_input_tokens: DeltaCount,
    cache_read_input_tokens: DeltaCount,
    cache_creation: Usage.cache_creation,
    output_tokens_details: Usage.output_tokens_details,
  })
  .loose();
export type MessageDeltaUsage = z.infer<typeof MessageDeltaUsageSchema>;

/** `message_delta`: the stop reason, and usage whose counts are cumulative (output always, input fields on newer API versions). */
export const MessageDeltaSchema = z
  .object({
    type: z.literal('message_delta'),
    delta: z.object({ stop_reason: z.string().nullable().optional() }).loose(),
    usage: MessageDeltaUsageSchema.nullable().optional(),
  })
  .loose();

/** `error`: the same error object an HTTP error answer carries. */
export const StreamErrorSchema = z.object({ type: z.literal('error'), error: z.object({ type: z.string(), message: z.string().optional() }).loose() }).loose();
