import type { Redis } from 'ioredis';
import { defineScripts } from '../scripts.ts';
import { collectPage } from './paging.ts';

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

/** A bounded index whose keys hang off `base`, which the caller names (keys.ts); `base` carries the hash tag. */
export function createBoundedIndex(redis: Redis, base: string, bounds: { maxAgeSeconds: number; maxPerTenant: number }): BoundedIndex {
  const scripts = defineScripts(redis);
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
