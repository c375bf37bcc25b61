import type { ModelPrice } from '../provider-type.ts';

/**
 * OpenAI list prices by model family, USD per 1M tokens (as of `PRICE_TABLE_VERSION`: bump it when
 * these change). Cached prompt tokens cost less by family: 90 % off for the gpt-5 family, 75 % off
 * for gpt-4.1, 50 % off for gpt-4o and the o-series; the older models have no cache discount. No
 * write fee: OpenAI charges nothing extra to fill its cache. Batch and flex are half price (the default).
 */
export const OPENAI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gpt-5': { input: 1.25, output: 10, cached_input: 0.125 },
  'gpt-5-mini': { input: 0.25, output: 2, cached_input: 0.025 },
  'gpt-5-nano': { input: 0.05, output: 0.4, cached_input: 0.005 },
  'gpt-4.1': { input: 2, output: 8, cached_input: 0.5 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cached_input: 0.1 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cached_input: 0.025 },
  'gpt-4o': { input: 2.5, output: 10, cached_input: 1.25 },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cached_input: 0.075 },
  o3: { input: 2, output: 8, cached_input: 1 },
  'o3-mini': { input: 1.1, output: 4.4, cached_input: 0.55 },
  'o4-mini': { input: 1.1, output: 4.4, cached_input: 0.55 },
  o1: { input: 15, output: 60, cached_input: 7.5 },
  'gpt-4-turbo': { input: 10, output: 30 },
  'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  // Embedding models bill input tokens only.
  'text-embedding-3-small': { input: 0.02, output: 0 },
  'text-embedding-3-large': { input: 0.13, output: 0 },
  'text-embedding-ada-002': { input: 0.1, output: 0 },
};

/** OpenAI context windows (prompt + completion tokens) by model-name prefix. */
export const OPENAI_CONTEXT_WINDOWS: Readonly<Record<string, number>> = { 'gpt-5': 400_000, 'gpt-4.1': 1_047_576, 'gpt-4o': 128_000, o1: 200_000, o3: 200_000, 'o4-mini': 200_000, 'gpt-4-turbo': 128_000, 'gpt-3.5-turbo': 16_385 };
