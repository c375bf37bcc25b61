import type { Redis } from 'ioredis';
import { collectPage } from './paging.ts';

/**
 * Adds a member to a tenant's index and to the index of all tenants (both in one hash-tag slot),
 * then bounds the tenant's: members older than the age limit go, then the oldest past the cap.
 * Both keys expire when nothing was added for the age limit. Returns the members dropped.
 * KEYS: tenant index, all index. ARGV: member, now ms, oldest ms kept, cap, age ms.
 */
const ADD = `
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
local dropped = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[3])
local over = redis.call('ZCARD', KEYS[1]) - #dropped - tonumber(ARGV[4])
if over > 0 then
  for _, member in ipairs(redis.call('ZRANGE', KEYS[1], #dropped, #dropped + over - 1)) do table.insert(dropped, member) end
end
for _, member in ipairs(dropped) do
  redis.call('ZREM', KEYS[1], member)
  redis.call('ZREM', KEYS[2], member)
end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('PEXPIRE', KEYS[2], ARGV[5])
return dropped
`;

interface ScriptedRedis {
  sluiceBoundedAdd(tenantKey: string, allKey: string, member: string, now: number, oldest: number, cap: number, ageMs: number): Promise<string[]>;
}

/**
 * A listing of entries per tenant and for all tenants (admins), newest first, bounded per tenant by
 * age and count, so one tenant can neither fill Redis nor push another's entries out of view.
 */
export interface BoundedIndex {
  /** Adds an entry; returns the entries of the same tenant that the bounds dropped. */
  add(tenant: string, member: string, atMs: number): Promise<string[]>;
  remove(tenant: string, member: string): Promise<boolean>;
  has(member: string): Promise<boolean>;
  /** A page of members, newest first, of one tenant (or of all when `tenant` is null), after a cursor. */
  page<T>(tenant: string | null, options: { after?: string | undefined; limit: number }, load: (members: string[]) => Promise<(T | null)[]>): Promise<{ data: T[]; has_more: boolean }>;
}

export function createBoundedIndex(redis: Redis, base: string, bounds: { maxAgeSeconds: number; maxPerTenant: number }): BoundedIndex {
  if (!('sluiceBoundedAdd' in redis)) redis.defineCommand('sluiceBoundedAdd', { numberOfKeys: 2, lua: ADD });
  const scripts = redis as unknown as ScriptedRedis;
  const tenantKey = (tenant: string): string => `${base}:tenant:${tenant}`;
  const allKey = `${base}:all`;
  const ageMs = bounds.maxAgeSeconds * 1000;
  return {
    add: (tenant, member, atMs) => scripts.sluiceBoundedAdd(tenantKey(tenant), allKey, member, atMs, Date.now() - ageMs, bounds.maxPerTenant, ageMs),
    async remove(tenant, member) {
      const [[, removed]] = (await redis.multi().zrem(tenantKey(tenant), member).zrem(allKey, member).exec()) as [[null, number], [null, number]];
      return removed === 1;
    },
    async has(member) {
      return (await redis.zscore(allKey, member)) !== null;
    },
    async page(tenant, options, load) {
      const page = await collectPage(redis, tenant === null ? allKey : tenantKey(tenant), options, load);
      return { data: page.data, has_more: page.has_more };
    },
  };
}
