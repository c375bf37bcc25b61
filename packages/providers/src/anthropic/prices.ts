import type { ModelPrice } from '../provider-type.ts';

/** Anthropic list prices by model family, USD per 1M tokens (as of `PRICE_TABLE_VERSION`: bump it when these change). */
export const ANTHROPIC_PRICES: Readonly<Record<string, ModelPrice>> = {
  'claude-opus-4-5': { input: 5, output: 25 },
  'claude-opus-4-1': { input: 15, output: 75 },
  'claude-opus-4': { input: 15, output: 75 },
  'claude-sonnet-4-5': { input: 3, output: 15 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-haiku-4-5': { input: 1, output: 5 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
};

/** Anthropic context windows (prompt + completion tokens) by model-name prefix. */
export const ANTHROPIC_CONTEXT_WINDOWS: Readonly<Record<string, number>> = { claude: 200_000 };
