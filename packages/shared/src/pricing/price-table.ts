/**
 * Bundled list prices, USD per 1M tokens (standard tier, text, prompts under any long-context
 * threshold), by wire format and model. Config `pricing` overrides any entry.
 */
export const PRICE_TABLE_VERSION = '2026-11-01';

export const PRICE_TABLE: Record<string, Record<string, { input: number; output: number }>> = {
  openai: {
    'gpt-5': { input: 1.25, output: 10 },
    'gpt-5-mini': { input: 0.25, output: 2 },
    'gpt-5-nano': { input: 0.05, output: 0.4 },
    'gpt-4.1': { input: 2, output: 8 },
    'gpt-4.1-mini': { input: 0.4, output: 1.6 },
    'gpt-4.1-nano': { input: 0.1, output: 0.4 },
    'gpt-4o': { input: 2.5, output: 10 },
    'gpt-4o-mini': { input: 0.15, output: 0.6 },
    o3: { input: 2, output: 8 },
    'o3-mini': { input: 1.1, output: 4.4 },
    'o4-mini': { input: 1.1, output: 4.4 },
    o1: { input: 15, output: 60 },
    'gpt-4-turbo': { input: 10, output: 30 },
    'gpt-3.5-turbo': { input: 0.5, output: 1.5 },
  },
  anthropic: {
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
  },
  gemini: {
    'gemini-2.5-pro': { input: 1.25, output: 10 },
    'gemini-2.5-flash': { input: 0.3, output: 2.5 },
    'gemini-2.5-flash-lite': { input: 0.1, output: 0.4 },
    'gemini-2.0-flash': { input: 0.1, output: 0.4 },
    'gemini-2.0-flash-lite': { input: 0.075, output: 0.3 },
    'gemini-1.5-pro': { input: 1.25, output: 5 },
    'gemini-1.5-flash': { input: 0.075, output: 0.3 },
  },
};

/** Version and alias suffixes providers append to a model family: dates, `-latest`, `-001`, `-preview-…`. */
const SUFFIX = /^(-latest|-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3}|-preview(-[\w-]+)?|-exp(-[\w-]+)?|-v\d+(:\d+)?)+$/;

/** Finds a model's price: exact name, else the longest family name it extends by version suffixes only. */
export function bundledPrice(type: string, model: string): { input: number; output: number } | null {
  const table = PRICE_TABLE[type];
  if (table === undefined) return null;
  const exact = table[model];
  if (exact) return exact;
  let best: string | null = null;
  for (const family of Object.keys(table)) {
    if (model.startsWith(family) && SUFFIX.test(model.slice(family.length)) && (best === null || family.length > best.length)) best = family;
  }
  return best === null ? null : (table[best] ?? null);
}

/** Context windows (prompt + completion tokens) of model families, longest prefix wins; config `context_window` overrides. */
const CONTEXT_WINDOWS: Record<string, Record<string, number>> = {
  openai: { 'gpt-5': 400_000, 'gpt-4.1': 1_047_576, 'gpt-4o': 128_000, o1: 200_000, o3: 200_000, 'o4-mini': 200_000, 'gpt-4-turbo': 128_000, 'gpt-3.5-turbo': 16_385 },
  anthropic: { claude: 200_000 },
  gemini: { 'gemini-2.5': 1_048_576, 'gemini-2.0': 1_048_576, 'gemini-1.5-pro': 2_097_152, 'gemini-1.5-flash': 1_048_576 },
};

/** A model's known context window, or null when Sluice does not know it (then no context check is made). */
export function bundledContextWindow(type: string, model: string): number | null {
  const table = CONTEXT_WINDOWS[type];
  if (table === undefined) return null;
  let best: string | null = null;
  for (const family of Object.keys(table)) {
    if (model.startsWith(family) && (best === null || family.length > best.length)) best = family;
  }
  return best === null ? null : (table[best] ?? null);
}
