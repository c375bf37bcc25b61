import type { Redis } from 'ioredis';
import { z } from 'zod';
import { MAX_CACHE_TTL_S, UsageSchema } from '@sluice/shared';
import { JobResultSchema } from '../jobs/job-types.ts';
import { cacheKeys } from '../keys.ts';
import { defineScripts } from '../scripts.ts';

/** What a cache entry holds: the original job's answer, who gave it, what it cost, and when. */
export const CachedResponseSchema = z.object({
  result: JobResultSchema,
  usage: UsageSchema.nullable(),
  provider: z.string().nullable(),
  provider_model: z.string().nullable(),
  /** The original job's cost: what a hit saves (null when it had no price). */
  cost_usd: z.number().nullable(),
  /** Unix seconds the entry was stored. */
  stored_at: z.number(),
});
export type CachedResponse = z.infer<typeof CachedResponseSchema>;

/** Stored answers per tenant, bounded in number per tenant and in size per entry. */
export interface ResponseCache {
  /** The tenant's entry under `digest`, or null (never stored, lapsed, evicted, or unreadable). */
  lookup(tenant: string, digest: string): Promise<CachedResponse | null>;
  /** Stores an entry for `ttlS` seconds; false when it is larger than the size bound and was not stored. */
  store(tenant: string, digest: string, response: CachedResponse, ttlS: number): Promise<boolean>;
  /** The same entry as keys and arguments for a script that stores it (`includes/cache-put.lua`); null when it is larger than the size bound. */
  prepare(tenant: string, digest: string, response: CachedResponse, ttlS: number): CacheWrite | null;
}

/** A cache entry ready to be written by a script: its keys and arguments. */
export interface CacheWrite {
  keys: [entry: string, stored: string, expiring: string];
  digest: string;
  value: string;
  ttlMs: number;
  cap: number;
  indexTtlMs: number;
  /** An evicted digest's entry is this prefix and the digest. */
  entryPrefix: string;
}

export interface ResponseCacheOptions {
  prefix: string;
  /** Entries kept per tenant; the oldest stored go first (`jobs.max_cache_entries_per_tenant`). */
  maxPerTenant: number;
  /** The largest entry stored, in bytes (`server.body_limit`): an answer never outweighs what a request may. */
  maxEntryBytes: number;
}

export function createResponseCache(redis: Redis, options: ResponseCacheOptions): ResponseCache {
  const scripts = defineScripts(redis);
  const prepare = (tenant: string, digest: string, response: CachedResponse, ttlS: number): CacheWrite | null => {
    const value = JSON.stringify(response);
    if (Buffer.byteLength(value) > options.maxEntryBytes) return null;
    const keys = cacheKeys(options.prefix, tenant);
    return {
      keys: [keys.entry(digest), keys.stored, keys.expiring], digest, value, ttlMs: ttlS * 1000, cap: options.maxPerTenant, indexTtlMs: MAX_CACHE_TTL_S * 1000, entryPrefix: keys.entry(''),
    };
  };
  return {
    async lookup(tenant, digest) {
      const text = await redis.get(cacheKeys(options.prefix, tenant).entry(digest));
      if (text === null) return null;
      try {
        const parsed = CachedResponseSchema.safeParse(JSON.parse(text));
        return parsed.success ? parsed.data : null;
      } catch {
        return null; // an unreadable entry is a miss; the job's success overwrites it
      }
    },
    async store(tenant, digest, response, ttlS) {
      const write = prepare(tenant, digest, response, ttlS);
      if (write === null) return false;
      const evicted = await scripts.sluiceCacheStore(...write.keys, write.digest, write.value, write.ttlMs, Date.now(), write.cap, write.indexTtlMs);
      if (evicted.length > 0) await redis.del(...evicted.map((evictedDigest) => write.entryPrefix + evictedDigest));
      return true;
    },
    prepare,
  };
}
