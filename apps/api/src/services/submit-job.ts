import {
  newJobId,
  providerJobOptions,
  PROVIDER_JOB_NAME,
  resolveRoute,
  splitJobRequest,
  type JobRecord,
  type JobRequest,
} from '@sluice/shared';
import { ApiError } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import type { Principal } from '../middleware/auth.ts';

/**
 * Routes a validated job request, writes its record, then enqueues it on the first eligible
 * target's provider queue. The record is written first so a worker never meets a job without one.
 */
export async function submitJob(deps: ApiDeps, principal: Principal, request: JobRequest): Promise<JobRecord> {
  const { config, store, queues, logger } = deps;
  if (request.webhook !== undefined) {
    throw new ApiError('Webhook delivery is not available yet; poll GET /v1/jobs/{id} for the result', {
      status: 400, type: 'invalid_request_error', code: 'unsupported_parameter', param: 'webhook',
    });
  }
  const stored = splitJobRequest(request);
  const routing = resolveRoute(config, { ...request, params: stored.params }, deps.price);
  const target = routing.candidates.findIndex((candidate) => candidate.eligible);
  const candidate = routing.candidates[target];
  if (candidate === undefined) {
    const reasons = routing.candidates.map((c) => `${c.provider}/${c.model}: ${c.reason}`).join(', ');
    throw new ApiError(`No target of "${request.model}" can take the job (${reasons})`, {
      status: 400, type: 'invalid_request_error', code: 'no_eligible_target', param: 'model',
    });
  }
  const now = Math.floor(Date.now() / 1000);
  const record: JobRecord = {
    id: newJobId(),
    tenant: principal.tenant,
    status: 'queued',
    model: request.model,
    priority: request.priority,
    tier: request.tier,
    created_at: now,
    started_at: null,
    completed_at: null,
    expires_at: now + (request.deadline_s ?? config.jobs.default_deadline_s),
    request: stored,
    routing,
    target,
    provider: null,
    provider_model: null,
    result: null,
    error: null,
    usage: null,
    cost_usd: null,
    cost_details: null,
    attempts: [],
    webhook: request.webhook ?? null,
    batch_id: null,
    metadata: request.metadata,
  };
  const queue = queues.get(candidate.provider);
  const provider = config.providers[candidate.provider];
  if (queue === undefined || provider === undefined) throw new Error(`no queue for provider ${candidate.provider}`);
  await store.create(record);
  try {
    await queue.add(PROVIDER_JOB_NAME, { id: record.id, target }, providerJobOptions(record.id, record.priority, record.tier, provider));
  } catch (error) {
    // Not enqueued means not accepted: drop the record so no client polls a job that never runs.
    await store.remove(record.id, record.tenant).catch(() => undefined);
    throw error;
  }
  logger.info(
    { job_id: record.id, tenant: record.tenant, route: routing.route, provider: candidate.provider, model: candidate.model, candidates: routing.candidates },
    'job accepted',
  );
  return record;
}
