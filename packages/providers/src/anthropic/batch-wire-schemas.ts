import { z } from 'zod';
import { cursorListSchema } from '../batch/find-in-pages.ts';

const CountsSchema = z
  .object({
    processing: z.number().int().nonnegative(),
    succeeded: z.number().int().nonnegative(),
    errored: z.number().int().nonnegative(),
    canceled: z.number().int().nonnegative(),
    expired: z.number().int().nonnegative(),
  })
  .loose();

/** A Message Batch object (`/v1/messages/batches`), the fields Sluice reads. */
export const AnthropicBatchSchema = z
  .object({
    id: z.string().min(1),
    processing_status: z.string(),
    request_counts: CountsSchema,
    created_at: z.string().optional(),
    archived_at: z.string().nullable().optional(),
    results_url: z.string().nullable().optional(),
  })
  .loose();
export type AnthropicBatch = z.infer<typeof AnthropicBatchSchema>;

/** A page of `GET /v1/messages/batches`, newest first. */
export const AnthropicBatchListSchema = cursorListSchema(AnthropicBatchSchema);
export type AnthropicBatchList = z.infer<typeof AnthropicBatchListSchema>;

/** One line of a batch's results (JSONL, in any order); `message` is read later with the Messages schema. */
export const AnthropicBatchLineSchema = z
  .object({
    custom_id: z.string(),
    result: z.discriminatedUnion('type', [
      z.object({ type: z.literal('succeeded'), message: z.unknown() }).loose(),
      z.object({ type: z.literal('errored'), error: z.object({ error: z.object({ type: z.string(), message: z.string().optional() }).loose() }).loose() }).loose(),
      z.object({ type: z.literal('canceled') }).loose(),
      z.object({ type: z.literal('expired') }).loose(),
    ]),
  })
  .loose();
export type AnthropicBatchLine = z.infer<typeof AnthropicBatchLineSchema>;
