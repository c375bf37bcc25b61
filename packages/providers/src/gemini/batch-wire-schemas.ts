import { z } from 'zod';

/** int64 fields arrive as JSON strings. */
const Int64 = z.union([z.number(), z.string()]).transform(Number).pipe(z.number().int().nonnegative());

/** A `google.rpc.Status`: a failed line's, or a failed batch's, error. */
export const GeminiStatusSchema = z.object({ code: z.number().int().optional(), message: z.string().optional(), status: z.string().optional() }).loose();
export type GeminiStatus = z.infer<typeof GeminiStatusSchema>;

/** One inline result: `response` (a GenerateContentResponse, read later) or `error`, with the request's `metadata.key`. */
export const GeminiInlinedResponseSchema = z
  .object({ response: z.unknown().optional(), error: GeminiStatusSchema.optional(), metadata: z.object({ key: z.string().optional() }).loose().optional() })
  .loose();
export type GeminiInlinedResponse = z.infer<typeof GeminiInlinedResponseSchema>;

/** One line of a results file: the request's `key` with a `response`, or an `error` (some writers say `status`). */
export const GeminiResultLineSchema = z
  .object({ key: z.string().optional(), response: z.unknown().optional(), error: GeminiStatusSchema.optional(), status: GeminiStatusSchema.optional() })
  .loose();
export type GeminiResultLine = z.infer<typeof GeminiResultLineSchema>;

const OutputSchema = z
  .object({
    inlinedResponses: z.object({ inlinedResponses: z.array(GeminiInlinedResponseSchema).optional() }).loose().optional(),
    responsesFile: z.string().optional(),
  })
  .loose();

/** A batch as its long-running operation (`batches/{id}`): state and counts in `metadata`, results in `response` once done. */
export const GeminiBatchOperationSchema = z
  .object({
    name: z.string().min(1),
    done: z.boolean().optional(),
    /** Some answers carry the state at the top level. */
    state: z.string().optional(),
    metadata: z
      .object({
        state: z.string().optional(),
        displayName: z.string().optional(),
        model: z.string().optional(),
        batchStats: z
          .object({ requestCount: Int64.optional(), successfulRequestCount: Int64.optional(), failedRequestCount: Int64.optional() })
          .loose()
          .optional(),
        /** Where the SDK reads results from. */
        output: OutputSchema.optional(),
      })
      .loose()
      .optional(),
    response: OutputSchema.optional(),
    error: GeminiStatusSchema.optional(),
  })
  .loose();
export type GeminiBatchOperation = z.infer<typeof GeminiBatchOperationSchema>;

/** A page of `GET /batches`. */
export const GeminiBatchListSchema = z
  .object({ operations: z.array(GeminiBatchOperationSchema).optional(), batches: z.array(GeminiBatchOperationSchema).optional(), nextPageToken: z.string().optional() })
  .loose();
export type GeminiBatchList = z.infer<typeof GeminiBatchListSchema>;
