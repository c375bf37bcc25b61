import type { Redis } from 'ioredis';
import { multiKey } from '@sluice/shared';
import { deferredFallbackKey, deferredKey, deferredTargetsKey, openProviderBatchesKey, providerBatchKey } from '../keys.ts';
import { defineScripts, type Scripts } from '../scripts.ts';

/** A submission to a provider's batch API, as Redis holds it from the moment its members are claimed. */
export interface ProviderBatchRecord {
  /** Sluice's key for the submission: it travels with the provider batch, so a restarted worker finds it. */
  key: string;
  provider: string;
  model: string;
  /** `submitting` from the claim until the provider's id is written; `submitted` after. */
  state: 'submitting' | 'submitted';
  /** The provider's own id; null until submitted. */
  id: string | null;
  /** Unix ms the members were claimed. */
  claimedAt: number;
  /** Unix ms it was last polled. */
  polledAt: number;
  /** How many jobs it holds. */
  count: number;
}

/** A submission with its member job ids. */
export interface ProviderBatchMembers extends ProviderBatchRecord {
  members: string[];
}

const FIELDS = ['key', 'provider', 'model', 'state', 'id', 'claimed_at', 'polled_at', 'count'] as const;

/** A job waiting for a provider batch: where it goes and when it must be taken back to run in real time. */
export interface DeferredJob {
  id: string;
  provider: string;
  model: string;
  /** Unix seconds after which it runs in real time instead (its deadline less `fallback_before_s`). */
  fallbackAt: number;
}

/**
 * Jobs deferred to providers' batch APIs, in Redis: waiting per provider and model until a worker
 * claims them into a submission, then members of that submission until its results end them. Every
 * key shares one hash tag, so each step is atomic even on a Redis Cluster.
 */
export class DeferredStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly scripts: Scripts;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
    this.scripts = defineScripts(redis);
  }

  /** Adds jobs to their targets' waiting sets and to the fallback schedule. */
  async defer(jobs: readonly DeferredJob[]): Promise<void> {
    if (jobs.length === 0) return;
    const now = Date.now();
    const pipeline = multiKey(this.redis);
    for (const job of jobs) {
      pipeline.zadd(deferredKey(this.prefix, job.provider, job.model), now, job.id);
      pipeline.sadd(deferredTargetsKey(this.prefix), `${job.provider}/${job.model}`);
      pipeline.zadd(deferredFallbackKey(this.prefix), job.fallbackAt, job.id);
    }
    const failure = ((await pipeline.exec()) ?? []).find(([error]) => error !== null);
    if (failure?.[0]) throw failure[0];
  }

  /** Takes a job out of waiting (canceled, expired, or sent to real time); true when it was waiting. */
  async undefer(id: string, provider: string, model: string): Promise<boolean> {
    const [[, removed] = [null, 0]] = (await multiKey(this.redis).zrem(deferredKey(this.prefix, provider, model), id).zrem(deferredFallbackKey(this.prefix), id).exec()) ?? [];
    return removed === 1;
  }

  /** Forgets jobs' fallback times (they ended, or were taken back). */
  async clearFallback(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.redis.zrem(deferredFallbackKey(this.prefix), ...ids);
  }

  /** Deferred jobs whose fallback time has come, oldest first. */
  dueFallbacks(nowSeconds: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(deferredFallbackKey(this.prefix), '-inf', nowSeconds, 'LIMIT', 0, limit);
  }

  /** The targets with waiting jobs, and for each how many wait and since when the oldest (ms). */
  async waiting(): Promise<{ provider: string; model: string; count: number; oldestMs: number | null }[]> {
    const targets = await this.redis.smembers(deferredTargetsKey(this.prefix));
    return Promise.all(
      targets.map(async (target) => {
        const slash = target.indexOf('/');
        const provider = target.slice(0, slash);
        const model = target.slice(slash + 1);
        const key = deferredKey(this.prefix, provider, model);
        const [count, oldest] = await Promise.all([this.redis.zcard(key), this.redis.zrange(key, 0, 0, 'WITHSCORES')]);
        return { provider, model, count, oldestMs: oldest[1] === undefined ? null : Number(oldest[1]) };
      }),
    );
  }

  /** Moves up to `max` waiting jobs of a target into a new submission labelled `key`; returns them. */
  claim(provider: string, model: string, max: number, key: string): Promise<string[]> {
    const p = this.prefix;
    return this.scripts.sluicePbatchClaim(deferredKey(p, provider, model), providerBatchKey(p, key), openProviderBatchesKey(p), deferredTargetsKey(p), max, Date.now(), provider, model, key);
  }

  /** Records the provider's id of a submission: from here on it is polled, never submitted again. */
  async submitted(key: string, id: string): Promise<void> {
    await this.redis.hset(providerBatchKey(this.prefix, key), 'state', 'submitted', 'id', id);
  }

  async polled(key: string, at: number): Promise<void> {
    await this.redis.hset(providerBatchKey(this.prefix, key), 'polled_at', at);
  }

  /** True when jobs wait for a provider batch or sit in an open one. */
  async pending(): Promise<boolean> {
    const [targets, open] = await Promise.all([this.redis.scard(deferredTargetsKey(this.prefix)), this.redis.zcard(openProviderBatchesKey(this.prefix))]);
    return targets + open > 0;
  }

  /** Submissions not yet finished (the oldest first), without their members (a list that can be long). */
  async open(limit = 1000): Promise<ProviderBatchRecord[]> {
    const keys = await this.redis.zrange(openProviderBatchesKey(this.prefix), 0, limit - 1);
    const records = await Promise.all(keys.map(async (key) => toRecord(await this.redis.hmget(providerBatchKey(this.prefix, key), ...FIELDS))));
    return records.filter((record): record is ProviderBatchRecord => record !== null);
  }

  /** A submission with its members. */
  async get(key: string): Promise<ProviderBatchMembers | null> {
    const values = await this.redis.hmget(providerBatchKey(this.prefix, key), ...FIELDS, 'members');
    const record = toRecord(values);
    return record === null ? null : { ...record, members: JSON.parse(values[FIELDS.length] ?? '[]') as string[] };
  }

  /** A submission whose every member has ended: it leaves the open set, and its record lapses after `keepSeconds`. */
  async finished(key: string, keepSeconds: number): Promise<void> {
    await multiKey(this.redis).zrem(openProviderBatchesKey(this.prefix), key).expire(providerBatchKey(this.prefix, key), keepSeconds).exec();
  }
}

/** A submission's record from its hash fields in `FIELDS` order; null when there is none. */
function toRecord(values: (string | null)[]): ProviderBatchRecord | null {
  const [key, provider, model, state, id, claimedAt, polledAt, count] = values;
  if (key === null || key === undefined) return null;
  return {
    key,
    provider: provider ?? '',
    model: model ?? '',
    state: state === 'submitted' ? 'submitted' : 'submitting',
    id: id ?? null,
    claimedAt: Number(claimedAt ?? 0),
    polledAt: Number(polledAt ?? 0),
    count: Number(count ?? 0),
  };
}
