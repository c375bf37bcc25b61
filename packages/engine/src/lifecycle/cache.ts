import type { Usage } from '@sluice/shared';
import type { JobRecord, JobResult, RoutingCandidate } from '../jobs/job-types.ts';
import type { Lifecycle } from './lifecycle.ts';

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

/**
 * Stores a succeeded job's answer when it asked for caching and the answer is whole. The success
 * is written already: a failure here is logged, never thrown.
 */
export async function storeInCache(lifecycle: Lifecycle, success: CacheableSuccess): Promise<void> {
  const { record, candidate, result } = success;
  const entry = record.cache_entry;
  if (entry === null) return;
  if (!isWhole(result)) return;
  const { cache, logger } = lifecycle.deps;
  try {
    const stored = await cache.store(record.tenant, entry.key, {
      result, usage: success.usage, provider: candidate.provider, provider_model: candidate.model, cost_usd: success.costUsd, stored_at: Math.floor(Date.now() / 1000),
    }, entry.ttl_s);
    if (!stored) logger.info({ job_id: record.id, tenant: record.tenant, cache: 'miss' }, 'answer not cached: larger than server.body_limit');
  } catch (error) {
    logger.warn({ job_id: record.id, tenant: record.tenant, err: (error as Error).message }, 'could not store the answer in the response cache');
  }
}
