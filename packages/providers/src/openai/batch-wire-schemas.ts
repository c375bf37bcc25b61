import { z } from 'zod';
import { cursorListSchema } from '../batch/find-in-pages.ts';

/** A file object (`POST /files`): only its id is read. */
export const OpenAIFileSchema = z.object({ id: z.string().min(1) }).loose();
export type OpenAIFile = z.infer<typeof OpenAIFileSchema>;

/** A batch object (`/batches`), the fields Sluice reads. */
export const OpenAIBatchSchema = z
  .object({
    id: z.string().min(1),
    status: z.string(),
    model: z.string().nullable().optional(),
    output_file_id: z.string().nullable().optional(),
    error_file_id: z.string().nullable().optional(),
    errors: z
      .object({ data: z.array(z.object({ code: z.string().nullable().optional(), message: z.string().nullable().optional() }).loose()).nullable().optional() })
      .loose()
      .nullable()
      .optional(),
    request_counts: z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() }).loose().nullable().optional(),
    metadata: z.record(z.string(), z.string()).nullable().optional(),
  })
  .loose();
export type OpenAIBatch = z.infer<typeof OpenAIBatchSchema>;

/** A page of `GET /batches`, newest first. */
export const OpenAIBatchListSchema = cursorListSchema(OpenAIBatchSchema);
export type OpenAIBatchList = z.infer<typeof OpenAIBatchListSchema>;

/** One line of a batch's output or error file (the same shape in both). */
export const OpenAIBatchLineSchema = z
  .object({
    custom_id: z.string(),
    response: z.object({ status_code: z.number().int(), body: z.unknown() }).loose().nullable().optional(),
    error: z.object({ code: z.string().nullable().optional(), message: z.string().nullable().optional() }).loose().nullable().optional(),
  })
  .loose();
export type OpenAIBatchLine = z.infer<typeof OpenAIBatchLineSchema>;
