import type { Usage } from '@sluice/shared';
import type { CacheWrite, CachedResponse } from '../cache/response-cache.ts';
import type { JobRecord, JobResult, RoutingCandidate } from '../jobs/job-types.ts';
import type { Lifecycle } from './lifecycle.ts';
import { jobLogFields } from './failover.ts';

/** Finish reasons of a whole answer: one cut by a filter or ended on a tool call is not replayed to others. */
const CACHEABLE_FINISH = new Set(['stop', 'length']);

/**
 * Writes the record of a job answered from the response cache, already succeeded, then announces it
 * like any other end: metrics and usage (its tokens, cost 0, the original cost as saved), webhook, and
 * its batch's counts.
 */
export async function submitCached(lifecycle: Lifecycle, record: JobRecord): Promise<void> {
  await lifecycle.deps.store.create(record);
  await lifecycle.announce(record);
}

export interface CacheableSuccess {
  record: JobRecord;
  candidate: RoutingCandidate;
  result: JobResult;
  usage: Usage | null;
  costUsd: number | null;
}

/** A chat answer is whole when every choice ended `stop` or `length`; embeddings always are. */
const isWhole = (result: JobResult): boolean =>
  result.object === 'list' || (result.choices.length > 0 && result.choices.every((choice) => CACHEABLE_FINISH.has(choice.finish_reason ?? '')));

/** The cache entry of a job's answer when it asked for caching and the answer is whole, else null. */
function cachedResponseOf(success: CacheableSuccess): { key: string; ttlS: number; response: CachedResponse } | null {
  const { record, candidate, result } = success;
  const entry = record.cache_entry;
  if (entry === null || !isWhole(result)) return null;
  const response = { result, usage: success.usage, provider: candidate.provider, provider_model: candidate.model, cost_usd: success.costUsd, stored_at: Math.floor(Date.now() / 1000) };
  return { key: entry.key, ttlS: entry.ttl_s, response };
}

const logTooLarge = (lifecycle: Lifecycle, record: JobRecord): void =>
  lifecycle.deps.logger.info({ ...jobLogFields(record), cache: 'miss' }, 'answer not cached: larger than server.body_limit');

/**
 * The write that stores a job's answer together with its success (on one server, in the success
 * script, so only a job that did succeed is cached, and before its end is announced); null when
 * nothing is to be stored.
 */
export function cacheWriteFor(lifecycle: Lifecycle, success: CacheableSuccess): CacheWrite | null {
  const cached = cachedResponseOf(success);
  if (cached === null) return null;
  const write = lifecycle.deps.cache.prepare(success.record.tenant, cached.key, cached.response, cached.ttlS);
  if (write === null) logTooLarge(lifecycle, success.record);
  return write;
}

/**
 * Stores a succeeded job's answer when it asked for caching and the answer is whole (a Redis
 * Cluster, where the success is written by separate commands: just after it). A failure here is
 * logged, never thrown.
 */
export async function storeInCache(lifecycle: Lifecycle, success: CacheableSuccess): Promise<void> {
  const cached = cachedResponseOf(success);
  if (cached === null) return;
  const { record } = success;
  try {
    if (!(await lifecycle.deps.cache.store(record.tenant, cached.key, cached.response, cached.ttlS))) logTooLarge(lifecycle, record);
  } catch (error) {
    lifecycle.deps.logger.warn({ ...jobLogFields(record), err: (error as Error).message }, 'could not store the answer in the response cache');
  }
}
