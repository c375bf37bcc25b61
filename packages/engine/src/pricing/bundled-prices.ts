import { providerType, type ModelPrice } from '@sluice/providers';

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

/**
 * A model's bundled price from its provider type's folder: the exact name, else the longest family
 * name it extends by version suffixes only.
 */
export function bundledPrice(type: string, model: string): ModelPrice | null {
  const table = providerType(type)?.prices;
  if (table === undefined) return null;
  const exact = Object.hasOwn(table, model) ? table[model] : undefined;
  if (exact) return exact;
  let best: string | null = null;
  for (const family of Object.keys(table)) {
    if (model.startsWith(family) && isVersionSuffix(model.slice(family.length)) && (best === null || family.length > best.length)) best = family;
  }
  return best === null ? null : (table[best] ?? null);
}

/** True when a provider type's bundled prices name `model` exactly. */
export function hasBundledPrice(type: string, model: string): boolean {
  const table = providerType(type)?.prices;
  return table !== undefined && Object.hasOwn(table, model);
}

/** A model's known context window from its provider type's folder (longest prefix wins), or null when Sluice does not know it (then no context check is made). */
export function bundledContextWindow(type: string, model: string): number | null {
  const table = providerType(type)?.contextWindows;
  if (table === undefined) return null;
  let best: string | null = null;
  for (const family of Object.keys(table)) {
    if (model.startsWith(family) && (best === null || family.length > best.length)) best = family;
  }
  return best === null ? null : (table[best] ?? null);
}
