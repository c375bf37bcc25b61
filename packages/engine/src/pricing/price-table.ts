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

const isDigits = (text: string, start: number, count: number): boolean => {
  if (start + count > text.length) return false;
  for (let index = start; index < start + count; index += 1) {
    const code = text.charCodeAt(index);
    if (code < 48 || code > 57) return false;
  }
  return true;
};

/** Letters, digits, `_`, `-` and `:`: what may follow `-preview` or `-exp`. */
const isTailCharacter = (code: number): boolean =>
  (code >= 48 && code <= 58) || (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || code === 95 || code === 45;

/**
 * True when `suffix` is only version and alias suffixes providers append to a model family: dates
 * (`-2024-08-06`, `-20241022`), `-latest`, `-001`, `-v2`, `-v1:0`, and `-preview…` / `-exp…` with
 * anything after them. Read left to right in one pass: model names come from clients, so this must
 * stay linear (a backtracking pattern over the same language blocked the event loop for minutes).
 */
export function isVersionSuffix(suffix: string): boolean {
  if (suffix === '') return false;
  let at = 0;
  while (at < suffix.length) {
    if (suffix[at] !== '-') return false;
    const boundary = (end: number): boolean => end === suffix.length || suffix[end] === '-';
    if (suffix.startsWith('-latest', at) && boundary(at + 7)) at += 7;
    else if (isDigits(suffix, at + 1, 4) && suffix[at + 5] === '-' && isDigits(suffix, at + 6, 2) && suffix[at + 8] === '-' && isDigits(suffix, at + 9, 2) && boundary(at + 11)) at += 11;
    else if (isDigits(suffix, at + 1, 8) && boundary(at + 9)) at += 9;
    else if (isDigits(suffix, at + 1, 3) && boundary(at + 4)) at += 4;
    else if (suffix.startsWith('-preview', at) || suffix.startsWith('-exp', at)) {
      // Whatever follows a preview or experimental tag (`-preview-05-20`, `-exp-1206`) is part of it.
      const tail = at + (suffix.startsWith('-preview', at) ? 8 : 4);
      if (tail === suffix.length) return true;
      if (suffix[tail] !== '-' || tail + 1 === suffix.length) return false;
      for (let index = tail; index < suffix.length; index += 1) if (!isTailCharacter(suffix.charCodeAt(index))) return false;
      return true;
    } else if (suffix[at + 1] === 'v' && isDigits(suffix, at + 2, 1)) {
      at += 2;
      while (isDigits(suffix, at, 1)) at += 1;
      if (suffix[at] === ':' && isDigits(suffix, at + 1, 1)) {
        at += 1;
        while (isDigits(suffix, at, 1)) at += 1;
      }
      if (!boundary(at)) return false;
    } else return false;
  }
  return true;
}

/** Finds a model's price: exact name, else the longest family name it extends by version suffixes only. */
export function bundledPrice(type: string, model: string): { input: number; output: number } | null {
  const table = PRICE_TABLE[type];
  if (table === undefined) return null;
  const exact = table[model];
  if (exact) return exact;
  let best: string | null = null;
  for (const family of Object.keys(table)) {
    if (model.startsWith(family) && isVersionSuffix(model.slice(family.length)) && (best === null || family.length > best.length)) best = family;
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
