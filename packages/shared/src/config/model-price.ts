import { z } from 'zod';

const UsdPer1MSchema = z.number().nonnegative();
/** A fraction of the real-time price, `0.5` = half price. */
const PriceFactorSchema = z.number().min(0).max(1);

/**
 * A model's price, USD per 1M tokens: the bundled tables' entries and config `pricing` entries.
 * Each optional rate, when absent, is the plain `input` price (no discount assumed); each optional
 * factor, when absent, is 0.5.
 */
export const ModelPriceSchema = z
  .object({
    /** Uncached prompt tokens. */
    input: UsdPer1MSchema,
    /** Completion tokens, reasoning included. */
    output: UsdPer1MSchema,
    /** Prompt tokens read from the provider's cache. Default `input`. */
    cached_input: UsdPer1MSchema.optional(),
    /** Prompt tokens written to the cache for 5 minutes. Default `input`. */
    cache_write_5m: UsdPer1MSchema.optional(),
    /** Prompt tokens written to the cache for 1 hour. Default `input`. */
    cache_write_1h: UsdPer1MSchema.optional(),
    /** What a job run through the provider's batch API pays of the real-time cost. Default 0.5. */
    batch_discount: PriceFactorSchema.optional(),
    /** What a job run on the provider's flex tier pays of the real-time cost. Default 0.5. */
    flex_discount: PriceFactorSchema.optional(),
  })
  .strict();
export type ModelPrice = z.infer<typeof ModelPriceSchema>;
