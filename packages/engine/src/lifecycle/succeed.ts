import type { Redis } from 'ioredis';
import { deadlineIndexKey, jobEventsChannel, jobRecordKey, jobStreamKey, spendKey, tenantJobKeys, usageKey } from '../keys.ts';
import { DEFAULT_STREAM_LIMITS, serializeJobFields, type JobFields, type StreamLimits } from '../jobs/job-store.ts';
import type { Attempt, JobRecord } from '../jobs/job-types.ts';
import { isCluster } from '@sluice/shared';
import { SPEND_TTL_SECONDS } from '../reliability/spend.ts';
import { defineScripts } from '../scripts.ts';
import type { Usage } from '@sluice/shared';
import { usageFieldBase, usageOtherBase } from '../usage/usage-store.ts';
import type { CacheWrite } from '../cache/response-cache.ts';

export interface Success {
  record: JobRecord;
  /** The queue entry that ran it; the write happens only while the record still names it. */
  guard: string;
  attempt: Attempt;
  fields: JobFields;
  provider: string;
  model: string;
  usage: Usage | null;
  costUsd: number | null;
  completedAt: number;
  /** The config or the price table names the model (its usage is never folded into `other`). */
  listed: boolean;
  /** The answer for the response cache, stored with the success (only if the guard lets it through) before its end is announced. */
  cache?: CacheWrite | null;
}

export interface Succeeder {
  /** Writes a success and its accounting in one step; null on a Redis Cluster (the keys live in different slots). */
  succeed(success: Success): Promise<{ ok: boolean; previous: string | null } | null>;
}

export function createSucceeder(redis: Redis, prefix: string, usageRetentionSeconds: number, streams: StreamLimits = DEFAULT_STREAM_LIMITS): Succeeder {
  const scripts = defineScripts(redis);
  return {
    async succeed(success) {
      if (isCluster(redis)) return null;
      const { record, usage, costUsd } = success;
      const tenant = tenantJobKeys(prefix, record.tenant);
      const jobKey = jobRecordKey(prefix, record.id);
      const cache = success.cache ?? null;
      const outcome = await scripts.sluiceJobSucceed(
        jobKey,
        usageKey(prefix, success.completedAt),
        spendKey(prefix, record.tenant, record.created_at),
        deadlineIndexKey(prefix),
        jobStreamKey(prefix, record.id, isCluster(redis)),
        tenant.active,
        tenant.running,
        ...(cache === null ? [jobKey, jobKey, jobKey] as const : cache.keys),
        success.guard,
        jobEventsChannel(prefix, record.id),
        JSON.stringify(success.attempt),
        usageFieldBase(record.tenant, success.provider, success.model),
        usage?.prompt_tokens ?? 0,
        usage === null ? -1 : usage.completion_tokens,
        costUsd ?? -1,
        (costUsd ?? 0) - record.reserved_usd,
        usageRetentionSeconds,
        SPEND_TTL_SECONDS,
        record.id,
        usageOtherBase(record.tenant, success.provider, success.listed),
        success.fields.cost_details?.saved_usd ?? 0,
        streams.retentionSeconds * 1000,
        ...(cache === null ? ['', '', 0, 0, 0, 0, ''] : [cache.digest, cache.value, cache.ttlMs, Date.now(), cache.cap, cache.indexTtlMs, cache.entryPrefix]),
        ...serializeJobFields(success.fields),
      );
      if (outcome === null) return { ok: false, previous: null };
      return { ok: outcome[0] === 1, previous: outcome[1] };
    },
  };
}
