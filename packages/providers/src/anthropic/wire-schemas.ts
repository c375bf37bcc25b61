import { z } from 'zod';

const TextBlock = z.object({ type: z.literal('text'), text: z.string() }).loose();
const ToolUseBlock = z.object({ type: z.literal('tool_use'), id: z.string(), name: z.string(), input: z.unknown() }).loose();
const OtherBlock = z.object({ type: z.string() }).loose();

/** A Messages API response (`POST /v1/messages`), as documented. */
export const AnthropicMessageSchema = z
  .object({
    id: z.string(),
    type: z.literal('message'),
    role: z.literal('assistant'),
    model: z.string(),
    content: z.array(z.union([TextBlock, ToolUseBlock, OtherBlock])),
    stop_reason: z.string().nullable(),
    stop_sequence: z.string().nullable().optional(),
    usage: z
      .object({
        input_tokens: z.number().int().nonnegative(),
        output_tokens: z.number().int().nonnegative(),
        cache_creation_input_tokens: z.number().int().nonnegative().nullable().optional(),
        cache_read_input_tokens: z.number().int().nonnegative().nullable().optional(),
        /** How the cache writes split by lifetime; absent on older API versions (every write was a 5-minute one). */
        cache_creation: z
          .object({ ephemeral_5m_input_tokens: z.number().int().nonnegative().optional(), ephemeral_1h_input_tokens: z.number().int().nonnegative().optional() })
          .loose()
          .nullable()
          .optional(),
        output_tokens_details: z.object({ thinking_tokens: z.number().int().nonnegative().optional() }).loose().nullable().optional(),
      })
      .loose(),
  })
  .loose();
export type AnthropicMessage = z.infer<typeof AnthropicMessageSchema>;

export type AnthropicContentBlock =
  | { type: 'text'; text: string }
  | { type: 'image'; source: { type: 'base64'; media_type: string; data: string } | { type: 'url'; url: string } }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string };

export interface AnthropicRequest {
  model: string;
  max_tokens: number;
  messages: { role: 'user' | 'assistant'; content: AnthropicContentBlock[] }[];
  system?: string;
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stop_sequences?: string[];
  tools?: { name: string; description?: string; input_schema: Record<string, unknown> }[];
  tool_choice?: { type: 'auto' | 'any' | 'none' | 'tool'; name?: string; disable_parallel_tool_use?: boolean };
  metadata?: { user_id: string };
}
