import type { Redis } from 'ioredis';
import { defineScripts } from '../scripts.ts';

/**
 * Members of the sorted set `key`, newest (highest score) first, starting right after `after` (or at
 * the top); null when `after` is not in the set.
 */
export async function pageAfter(redis: Redis, key: string, after: string | undefined, count: number): Promise<string[] | null> {
  return defineScripts(redis).sluicePage(key, after ?? '', count);
}

/**
 * Reads `limit` items after `after`, chunk by chunk, keeping those `load` returns (it may drop some:
 * another status, an expired record). `has_more` is exact: one more kept item was found.
 */
export async function collectPage<T>(
  redis: Redis,
  key: string,
  options: { after?: string | undefined; limit: number },
  load: (ids: string[]) => Promise<(T | null)[]>,
): Promise<{ data: T[]; has_more: boolean; missingCursor: boolean }> {
  const data: T[] = [];
  const chunk = Math.max(options.limit + 1, 50);
  let cursor = options.after;
  for (;;) {
    const ids = await pageAfter(redis, key, cursor, chunk);
    if (ids === null) return { data, has_more: false, missingCursor: cursor === options.after };
    const items = ids.length === 0 ? [] : await load(ids);
    for (const item of items) {
      if (item === null) continue;
      if (data.length === options.limit) return { data, has_more: true, missingCursor: false };
      data.push(item);
    }
    if (ids.length < chunk) return { data, has_more: false, missingCursor: false };
    cursor = ids.at(-1);
  }
}
