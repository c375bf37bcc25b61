import type { ModelPrice } from '../provider-type.ts';

/**
 * Anthropic list prices by model family, USD per 1M tokens (as of `PRICE_TABLE_VERSION`: bump it
 * when these change). Prompt caching is priced from the input rate for every model: a cache read
 * costs 0.1×, a 5-minute write 1.25×, a 1-hour write 2×. Message Batches are half price (the default).
 */
export const ANTHROPIC_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4-5': { input: 5, output: 25, cached_input: 0.5, cache_write_5m: 6.25, cache_write_1h: 10 },
  'claude-opus-4-1': { input: 15, output: 75, cached_input: 1.5, cache_write_5m: 18.75, cache_write_1h: 30 },
  'claude-opus-4': { input: 15, output: 75, cached_input: 1.5, cache_write_5m: 18.75, cache_write_1h: 30 },
  'claude-sonnet-4-5': { input: 3, output: 15, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6 },
  'claude-sonnet-4': { input: 3, output: 15, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6 },
  'claude-3-7-sonnet': { input: 3, output: 15, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6 },
  'claude-3-5-sonnet': { input: 3, output: 15, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6 },
  'claude-haiku-4-5': { input: 1, output: 5, cached_input: 0.1, cache_write_5m: 1.25, cache_write_1h: 2 },
  'claude-3-5-haiku': { input: 0.8, output: 4, cached_input: 0.08, cache_write_5m: 1, cache_write_1h: 1.6 },
  'claude-3-haiku': { input: 0.25, output: 1.25, cached_input: 0.025, cache_write_5m: 0.3125, cache_write_1h: 0.5 },
};

/** Anthropic context windows (prompt + completion tokens) by model-name prefix. */
export const ANTHROPIC_CONTEXT_WINDOWS: Readonly<Record<string, number>> = { claude: 200_000 };
