import { z } from 'zod';

/** A chat-completions response as OpenAI-shaped servers send it; lenient where real servers differ. */
export const OpenAIChatResponseSchema = z
  .object({
    id: z.string().optional(),
    object: z.string().optional(),
    created: z.number().optional(),
    model: z.string().optional(),
    choices: z
      .array(
        z
          .object({
            index: z.number().int().optional(),
            message: z
              .object({
                role: z.string().optional(),
                content: z.string().nullable().optional(),
                tool_calls: z
                  .array(
                    z
                      .object({
                        id: z.string(),
                        type: z.string().optional(),
                        function: z.object({ name: z.string(), arguments: z.string() }).loose(),
                      })
                      .loose(),
                  )
                  .nullable()
                  .optional(),
                refusal: z.string().nullable().optional(),
              })
              .loose(),
            finish_reason: z.string().nullable().optional(),
            logprobs: z.unknown().optional(),
          })
          .loose(),
      )
      .min(1),
    usage: z
      .object({ prompt_tokens: z.number().int().nonnegative(), completion_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative().optional() })
      .loose()
      .nullable()
      .optional(),
    system_fingerprint: z.string().nullable().optional(),
  })
  .loose();
export type OpenAIChatResponse = z.infer<typeof OpenAIChatResponseSchema>;

const nullableString = z.string().nullable().optional();

/** One `chat.completion.chunk` as OpenAI-shaped servers stream it; lenient like the response schema. */
export const OpenAIChunkSchema = z
  .object({
    id: z.string().optional(),
    created: z.number().optional(),
    model: z.string().optional(),
    system_fingerprint: nullableString,
    choices: z
      .array(
        z
          .object({
            index: z.number().int().optional(),
            delta: z
              .object({
                role: nullableString,
                content: nullableString,
                refusal: nullableString,
                tool_calls: z
                  .array(
                    z
                      .object({
                        index: z.number().int().nonnegative(),
                        id: nullableString,
                        type: nullableString,
                        function: z.object({ name: nullableString, arguments: nullableString }).loose().nullable().optional(),
                      })
                      .loose(),
                  )
                  .nullable()
                  .optional(),
              })
              .loose()
              .optional(),
            finish_reason: nullableString,
            logprobs: z.unknown().optional(),
          })
          .loose(),
      )
      .optional(),
    usage: OpenAIChatResponseSchema.shape.usage,
  })
  .loose();
export type OpenAIChunk = z.infer<typeof OpenAIChunkSchema>;

/** An embeddings response as OpenAI-shaped servers send it: vectors as numbers (or base64, from servers that ignore `encoding_format`), usage when they count it. */
export const OpenAIEmbeddingsResponseSchema = z
  .object({
    data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.union([z.array(z.number()), z.string()]) }).loose()),
    model: z.string().optional(),
    usage: z.object({ prompt_tokens: z.number().int().nonnegative(), total_tokens: z.number().int().nonnegative().optional() }).loose().nullable().optional(),
  })
  .loose();
export type OpenAIEmbeddingsResponse = z.infer<typeof OpenAIEmbeddingsResponseSchema>;
