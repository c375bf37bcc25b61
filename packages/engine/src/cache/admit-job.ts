import { getMetrics } from '@sluice/shared';
import type { CostDetails, JobRecord } from '../jobs/job-types.ts';
import { newJobRecord, planJob, type PlanDeps, type PlannedJob, type PlanOptions, type Submitter } from '../routing/plan-job.ts';
import { resolveRoute } from '../routing/resolve-route.ts';
import { splitJobRequest, type AnyJobRequest } from '../schemas/job-request.ts';
import { cacheTtlOf, responseCacheKey } from './cache-key.ts';
import type { CachedResponse, ResponseCache } from './response-cache.ts';

/** What admitting a job reads: what planning reads, and the response cache. */
export interface AdmitDeps extends PlanDeps {
  cache: ResponseCache;
}

/** A request answered from the response cache (`cached`: its succeeded record), or planned to run. */
export type Admission = { cached: JobRecord } | ({ cached: null } & PlannedJob);

/**
 * Looks a request that asks for caching up in its tenant's response cache before it is routed: a hit
 * becomes a succeeded record at once (no provider call, no budget reserved); a miss is planned as
 * usual and carries its cache key, so its success is stored. Other requests are only planned.
 */
export async function admitJob(deps: AdmitDeps, submitter: Submitter, request: AnyJobRequest, options: PlanOptions): Promise<Admission> {
  const ttlS = cacheTtlOf(deps.config, request);
  if (ttlS === 0) return { cached: null, ...(await planJob(deps, submitter, request, options)) };
  const key = responseCacheKey(request);
  const hit = await deps.cache.lookup(submitter.tenant, key);
  getMetrics().cacheLookups.inc({ outcome: hit === null ? 'miss' : 'hit' });
  if (hit !== null) return { cached: cachedJobRecord(deps, submitter, request, options, hit) };
  const planned = await planJob(deps, submitter, request, options);
  planned.record.cache = { hit: false };
  planned.record.cache_entry = { key, ttl_s: ttlS };
  return { cached: null, ...planned };
}

/** The cost of a hit: nothing, and the original job's cost saved. */
const cachedCost = (hit: CachedResponse): CostDetails => ({
  price_source: 'cache', input_usd_per_1m: null, output_usd_per_1m: null, reason: null, discount: null, saved_usd: hit.cost_usd ?? 0,
});

/**
 * The succeeded record of a hit: routed as the request would be (so an unknown model is refused as
 * ever and the job shows its route), answered by the original job's provider and model.
 */
function cachedJobRecord(deps: AdmitDeps, submitter: Submitter, request: AnyJobRequest, options: PlanOptions, hit: CachedResponse): JobRecord {
  const stored = splitJobRequest(request);
  const routing = resolveRoute(deps.config, { ...request, ...stored }, deps.price);
  const now = Math.floor(Date.now() / 1000);
  const target = Math.max(0, routing.candidates.findIndex((c) => c.provider === hit.provider && c.model === hit.provider_model));
  const record = newJobRecord({ config: deps.config, submitter, request, options, stored, routing, target, now, reserved: 0 });
  return {
    ...record,
    status: 'succeeded', started_at: now, completed_at: now, provider: hit.provider, provider_model: hit.provider_model,
    result: hit.result, usage: hit.usage, cost_usd: 0, cost_details: cachedCost(hit), cache: { hit: true, key_age_s: Math.max(0, now - hit.stored_at) },
    // Answered whole at once: no output stream (a streamed client gets the answer as chunks from the record).
    stream: null,
  };
}
