import type { ModelPrice } from '../provider-type.ts';

/** Gemini list prices by model family, USD per 1M tokens (as of `PRICE_TABLE_VERSION`: bump it when these change). */
export const GEMINI_PRICES: Readonly<Record<string, ModelPrice>> = {
  'gemini-2.5-pro': { input: 1.25, output: 10 },
  'gemini-2.5-flash': { input: 0.3, output: 2.5 },
  'gemini-2.5-flash-lite': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash': { input: 0.1, output: 0.4 },
  'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
  'gemini-1.5-pro': { input: 1.25, output: 5 },
  'gemini-1.5-flash': { input: 0.075, output: 0.3 },
};

/** Gemini context windows (prompt + completion tokens) by model-name prefix. */
export const GEMINI_CONTEXT_WINDOWS: Readonly<Record<string, number>> = { 'gemini-2.5': 1_048_576, 'gemini-2.0': 1_048_576, 'gemini-1.5-pro': 2_097_152, 'gemini-1.5-flash': 1_048_576 };
