type HeaderValue = string | string[] | undefined;
export type Headers = Record<string, HeaderValue>;

const first = (value: HeaderValue): string | undefined => (Array.isArray(value) ? value[0] : value);

/** Parses OpenAI-style durations such as `1s`, `6m0s`, `12ms`, `1h2m3.5s`. */
export function parseDuration(text: string): number | null {
  const pattern = /(\d+(?:\.\d+)?)(ms|h|m|s)/g;
  let total = 0;
  let matched = '';
  for (const match of text.matchAll(pattern)) {
    const amount = Number(match[1]);
    const unit = match[2];
    total += unit === 'ms' ? amount : unit === 's' ? amount * 1000 : unit === 'm' ? amount * 60_000 : amount * 3_600_000;
    matched += match[0];
  }
  return matched.length > 0 && matched === text.trim() ? Math.ceil(total) : null;
}

/**
 * How long the provider asks us to wait, in ms: `retry-after-ms`, then `retry-after` (seconds or
 * an HTTP date), then the longest of `x-ratelimit-reset-requests` / `-tokens` on a 429. Null when none says.
 */
export function parseRetryAfter(headers: Headers, now: number = Date.now()): number | null {
  const ms = first(headers['retry-after-ms']);
  if (ms !== undefined && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  const after = first(headers['retry-after']);
  if (after !== undefined) {
    const trimmed = after.trim();
    if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.ceil(Number(trimmed) * 1000);
    const date = Date.parse(trimmed);
    if (!Number.isNaN(date)) return Math.max(0, date - now);
  }
  const resets = ['x-ratelimit-reset-requests', 'x-ratelimit-reset-tokens']
    .map((name) => first(headers[name]))
    .map((value) => (value === undefined ? null : parseDuration(value) ?? (/^\d+(\.\d+)?$/.test(value) ? Number(value) * 1000 : null)))
    .filter((value): value is number => value !== null);
  return resets.length > 0 ? Math.max(...resets) : null;
}
