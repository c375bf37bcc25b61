import type { Redis } from 'ioredis';
import { deadlineIndexKey, jobEventsChannel, jobRecordKey, spendKey, usageKey } from '../keys.ts';
import { serializeJobFields, type JobFields } from '../jobs/job-store.ts';
import type { Attempt, JobRecord } from '../jobs/job-types.ts';
import { isCluster } from '@sluice/shared';
import { SPEND_TTL_SECONDS, spendAdjustLua } from '../reliability/spend.ts';
import type { Usage } from '@sluice/shared';
import { usageAddLua, usageFieldBase, usageOtherBase } from '../usage/usage-store.ts';

/**
 * Everything a succeeded job writes, in one script on one server: the guarded status change with
 * its attempt and result, the status publish, the hour's usage totals, the tenant's spend and the
 * deadline-index cleanup. KEYS: job, usage hour, spend month, deadline index.
 * ARGV: guard, channel, attempt, usage base, prompt, completion (-1: none), cost (-1: none),
 * spend delta, usage ttl, spend ttl, job id, usage base past the hour's cap ('' when none), field pairs...
 */
const SUCCEED = `
local current = redis.call('HMGET', KEYS[1], 'status', 'queue_job_id')
if not current[1] then return false end
if current[1] ~= 'running' then return {0, current[1]} end
if ARGV[1] ~= '' and ARGV[1] ~= current[2] then return {0, current[1]} end
local index = redis.call('HINCRBY', KEYS[1], 'attempt_count', 1) - 1
redis.call('HSET', KEYS[1], 'attempt:' .. index, ARGV[3])
redis.call('HSET', KEYS[1], 'status', 'succeeded', unpack(ARGV, 13))
-- Whoever waits on this job (a synchronous call, a long-poll) gets the record with the news, and
-- need not read it back; with nobody listening, only the status goes out.
if redis.call('PUBSUB', 'NUMSUB', ARGV[2])[2] > 0 then
  redis.call('PUBLISH', ARGV[2], 'succeeded\\n' .. cjson.encode(redis.call('HGETALL', KEYS[1])))
else
  redis.call('PUBLISH', ARGV[2], 'succeeded')
end
${usageAddLua('KEYS[2]', 'ARGV[4]', 'ARGV[12]', 'ARGV[5]', 'ARGV[6]', 'ARGV[7]', 'ARGV[9]')}
${spendAdjustLua('KEYS[3]', 'ARGV[8]', 'ARGV[10]')}
redis.call('ZREM', KEYS[4], ARGV[11])
return {1, current[1]}
`;

interface ScriptedRedis {
  sluiceJobSucceed(job: string, usage: string, spend: string, deadlines: string, ...args: (string | number)[]): Promise<[number, string] | null>;
}

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
}

export interface Succeeder {
  /** Writes a success and its accounting in one step; null on a Redis Cluster (the keys live in different slots). */
  succeed(success: Success): Promise<{ ok: boolean; previous: string | null } | null>;
}

export function createSucceeder(redis: Redis, prefix: string, usageRetentionSeconds: number): Succeeder {
  if (!('sluiceJobSucceed' in redis)) redis.defineCommand('sluiceJobSucceed', { numberOfKeys: 4, lua: SUCCEED });
  const scripts = redis as unknown as ScriptedRedis;
  return {
    async succeed(success) {
      if (isCluster(redis)) return null;
      const { record, usage, costUsd } = success;
      const outcome = await scripts.sluiceJobSucceed(
        jobRecordKey(prefix, record.id),
        usageKey(prefix, success.completedAt),
        spendKey(prefix, record.tenant, record.created_at),
        deadlineIndexKey(prefix),
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
        ...serializeJobFields(success.fields),
      );
      if (outcome === null) return { ok: false, previous: null };
      return { ok: outcome[0] === 1, previous: outcome[1] };
    },
  };
}
