import type { Redis } from 'ioredis';

/**
 * One page of a sorted set, highest score first, after a member: the cursor's rank is found and the
 * page read in the same script, so members that share a score (a batch's children are created in
 * the same millisecond) are neither skipped nor repeated, and entries added meanwhile do not shift it.
 * Returns false when the cursor is no longer in the set.
 */
const PAGE = `
local start = 0
if ARGV[1] ~= '' then
  local rank = redis.call('ZREVRANK', KEYS[1], ARGV[1])
  if not rank then return false end
  start = rank + 1
end
return redis.call('ZREVRANGE', KEYS[1], start, start + tonumber(ARGV[2]) - 1)
`;

interface ScriptedRedis {
  sluicePage(key: string, after: string, count: number): Promise<string[] | null>;
}

/**
 * Members of the sorted set `key`, newest (highest score) first, starting right after `after` (or at
 * the top); null when `after` is not in the set.
 */
export async function pageAfter(redis: Redis, key: string, after: string | undefined, count: number): Promise<string[] | null> {
  if (!('sluicePage' in redis)) redis.defineCommand('sluicePage', { numberOfKeys: 1, lua: PAGE });
  return (redis as unknown as ScriptedRedis).sluicePage(key, after ?? '', count);
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
