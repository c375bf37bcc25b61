import type { ModelPrice } from '../provider-type.ts';

/**
 * Gemini list prices by model family, USD per 1M tokens (as of `PRICE_TABLE_VERSION`: bump it when
 * these change). Cached prompt tokens cost 0.1× input from Gemini 2.5 on and 0.25× on the older
 * 2.0 and 1.5 models; explicit caches also bill storage per hour, which no job's usage shows, so
 * it is not priced here. Batch and flex are half price (the default).
 */
export const GEMINI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gemini-2.5-pro': { input: 1.25, output: 10, cached_input: 0.125 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5, cached_input: 0.03 },
  'gemini-2.5-flash-lite': { input: 0.1, output: 0.4, cached_input: 0.01 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4, cached_input: 0.025 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3, cached_input: 0.01875 },
  'gemini-1.5-pro': { input: 1.25, output: 5, cached_input: 0.3125 },
  'gemini-1.5-flash': { input: 0.075, output: 0.3, cached_input: 0.01875 },
  // Embeddings bill input tokens only.
  'gemini-embedding-001': { input: 0.15, output: 0 },
};

/** Gemini context windows (prompt + completion tokens) by model-name prefix. */
export const GEMINI_CONTEXT_WINDOWS: Readonly<Record<string, number>> = { 'gemini-2.5': 1_048_576, 'gemini-2.0': 1_048_576, 'gemini-1.5-pro': 2_097_152, 'gemini-1.5-flash': 1_048_576 };
