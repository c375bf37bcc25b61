import { randomBytes } from 'node:crypto';
import { SLUICE_ATTRIBUTES, webhookSecretFor, type Span } from '@sluice/shared';
import { admitJob, jobLogFields, summarizeCandidates, isPrivateLiteralUrl, newJobId, priorityAbove, type AnyJobRequest, type Engine, type JobRecord, type PlanOptions, type Priority, type ResponseSettings } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import type { Principal } from '../middleware/auth.ts';
import { claimIdempotencyKey } from './idempotency.ts';

/** What submitting a job reads and writes. */
export type SubmitDeps = Pick<Engine, 'config' | 'redis' | 'store' | 'lifecycle' | 'limiter' | 'logger' | 'price' | 'circuits' | 'spend' | 'cache' | 'tenantJobs'>;

export interface SubmitOptions {
  idempotencyKey?: string | null;
  /** The body as the client sent it, for the idempotency comparison. */
  rawBody?: unknown;
  /** The job id to use (a caller already listening for it); new when absent. */
  id?: string;
  /** Set for a job made by `POST /v1/responses`: what its record keeps for the response. */
  response?: ResponseSettings;
  /**
   * Awaited just before the job is written (after routing and admission): a caller listening for
   * the job's end subscribes meanwhile, so the end cannot be published before it listens.
   */
  beforeWrite?: Promise<unknown>;
  /** The request's span (tracing on): the job keeps its context, so its later spans join the request's trace. */
  span?: Span | null;
}

export interface Submitted {
  record: JobRecord;
  /** True when an Idempotency-Key replayed an earlier job. */
  replayed: boolean;
}

/** A webhook needs a signing secret, and (unless private networks are allowed) a URL that is not a private IP literal. */
export function checkWebhook(deps: Pick<Engine, 'config'>, principal: Principal, url: string): void {
  if (webhookSecretFor(deps.config, principal.tenant) === null) {
    throw new ApiError('No webhook signing secret is configured for this tenant (auth.keys[].webhook_secret or webhooks.secret)', {
      status: 400, type: 'invalid_request_error', code: 'webhook_secret_missing', param: 'webhook',
    });
  }
  if (!deps.config.webhooks.allow_private_networks && isPrivateLiteralUrl(url)) {
    throw new ApiError(`Webhook URL ${new URL(url).host} is a loopback, private, link-local or reserved address; these are refused`, {
      status: 400, type: 'invalid_request_error', code: 'webhook_url_not_allowed', param: 'webhook.url',
    });
  }
}

/**
 * Holds a priority class to the key's `max_priority`. One the client asked for above it is refused
 * (the cap is the key's, retrying cannot help: a 400, not a 429); a default above it is lowered to
 * it, so a request that names no priority is never refused for it.
 */
export function allowedPriority(principal: Principal, priority: Priority, asked: boolean): Priority {
  if (!priorityAbove(priority, principal.maxPriority)) return priority;
  if (!asked) return principal.maxPriority;
  throw new ApiError(`priority ${priority} is above this key's max_priority ${principal.maxPriority}`, {
    status: 400, type: 'invalid_request_error', code: 'priority_not_allowed', param: 'priority',
  });
}

/** Enforces the tenant's `rpm` across every API process (sliding window in Redis). */
export async function enforceTenantRate(deps: Pick<Engine, 'limiter'>, principal: Principal): Promise<void> {
  if (principal.rpm === undefined) return;
  const member = `${Date.now()}:${randomBytes(6).toString('hex')}`;
  const waitMs = await deps.limiter.acquire(`tenant:${principal.tenant}`, { rpm: principal.rpm, windowMs: 60_000 }, member, 0);
  if (waitMs > 0) {
    throw new ApiError(`Rate limit of ${principal.rpm} requests per minute reached for tenant ${principal.tenant}`, {
      status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfter: Math.ceil(waitMs / 1000),
    });
  }
}

/**
 * Routes a validated job request, reserves its estimate against the budget, writes its record, then
 * enqueues it on the first healthy target's provider queue. The record is written first so a worker
 * never meets a job without one; a job whose targets are all down waits on the first one's paused queue.
 */
export async function submitJob(deps: SubmitDeps, principal: Principal, request: AnyJobRequest, options: SubmitOptions = {}): Promise<Submitted> {
  const { config, store } = deps;
  if (request.webhook !== undefined) checkWebhook(deps, principal, request.webhook.url);
  const id = options.id ?? newJobId();
  let release = async (): Promise<void> => undefined;
  if (options.idempotencyKey) {
    const claim = await claimIdempotencyKey(deps.redis, {
      prefix: config.redis.prefix, tenant: principal.tenant, key: options.idempotencyKey, body: options.rawBody ?? request, jobId: id, ttlSeconds: config.jobs.idempotency_ttl_s,
    });
    if (claim.kind === 'replay') {
      const existing = await store.getForTenant(claim.jobId, principal.tenant);
      if (existing === null) {
        throw new ApiError('A request with this Idempotency-Key is still being processed; retry shortly', {
          status: 409, type: 'invalid_request_error', code: 'idempotency_key_in_use', param: 'Idempotency-Key', retryAfter: 1,
        });
      }
      options.span?.setAttributes({ [SLUICE_ATTRIBUTES.jobId]: existing.id });
      return { record: existing, replayed: true };
    }
    release = claim.release;
  }
  const span = options.span ?? null;
  span?.setAttributes({ [SLUICE_ATTRIBUTES.jobId]: id, [SLUICE_ATTRIBUTES.tenant]: principal.tenant });
  try {
    const plan: PlanOptions = { id, ...(options.response ? { response: options.response } : {}), ...(span === null ? {} : { trace: span.context() }) };
    return { record: await createAndEnqueue(deps, principal, request, plan, options.beforeWrite), replayed: false };
  } catch (error) {
    await release();
    throw error;
  }
}

/**
 * Takes one of the key's `max_queued_jobs` places for the job, in one step across every process
 * (only a key with a cap pays the round trip); past the cap, gives back what the job reserved of the
 * budget and answers 429. The place is given back when the job ends, or when it is not written.
 */
async function takeQueuedPlace(deps: SubmitDeps, principal: Principal, record: JobRecord): Promise<void> {
  const cap = principal.maxQueuedJobs;
  if (cap === undefined) return;
  const { admitted, active } = await deps.tenantJobs.admit(principal.tenant, [record.id], record.expires_at, cap);
  if (admitted === 1) return;
  await deps.lifecycle.settleReservation(record, null);
  throw new ApiError(`max_queued_jobs of ${cap} reached: tenant ${principal.tenant} has ${active} jobs queued or running; retry when one ends`, {
    status: 429, type: 'rate_limit_error', code: 'max_queued_jobs_exceeded', retryAfter: 1,
  });
}

/**
 * Answers the job from the response cache when it can (already succeeded; a hit never waits, so it
 * takes no `max_queued_jobs` place), else writes and enqueues it.
 */
async function createAndEnqueue(deps: SubmitDeps, principal: Principal, request: AnyJobRequest, plan: PlanOptions, beforeWrite?: Promise<unknown>): Promise<JobRecord> {
  const admitted = await admitJob(deps, principal, request, plan);
  if (admitted.cached !== null) {
    const record = admitted.cached;
    await deps.lifecycle.submitCached(record);
    deps.logger.info(
      { ...jobLogFields(record), provider: record.provider, model: record.provider_model, cache: 'hit', key_age_s: record.cache?.key_age_s, saved_usd: record.cost_details?.saved_usd },
      'job answered from the response cache',
    );
    return record;
  }
  const { record, candidate, waiting } = admitted;
  await takeQueuedPlace(deps, principal, record);
  if (beforeWrite !== undefined) await beforeWrite.catch(() => undefined);
  await deps.lifecycle.submit([record]);
  deps.logger.info(
    {
      ...jobLogFields(record), strategy: record.routing.strategy, provider: candidate.provider, model: candidate.model,
      est_cost_usd: candidate.est_cost_usd, waiting, candidates: summarizeCandidates(record.routing.candidates), ...(record.cache === null ? {} : { cache: 'miss' }),
    },
    waiting ? 'job accepted: every target is down, it waits queued for one to recover' : 'job accepted',
  );
  return record;
}
