import { randomBytes } from 'node:crypto';
import {
  chooseTarget,
  isPrivateLiteralUrl,
  isRoutable,
  webhookSecretFor,
  newJobId,
  PROVIDER_JOB_NAME,
  providerJobOptions,
  queueJobId,
  resolveRoute,
  splitJobRequest,
  type JobRecord,
  type JobRequest,
  type RoutingDecision,
} from '@sluice/shared';
import { ApiError } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import type { Principal } from '../middleware/auth.ts';
import { claimIdempotencyKey } from './idempotency.ts';

export interface SubmitOptions {
  idempotencyKey?: string | null;
  /** The body as the client sent it, for the idempotency comparison. */
  rawBody?: unknown;
}

export interface Submitted {
  record: JobRecord;
  /** True when an Idempotency-Key replayed an earlier job. */
  replayed: boolean;
}

const secondsToNextMonth = (now: Date): number => {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
};

/** A webhook needs a signing secret, and (unless private networks are allowed) a URL that is not a private IP literal. */
export function checkWebhook(deps: ApiDeps, principal: Principal, url: string): void {
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

/** Enforces the tenant's `rpm` across every API process (sliding window in Redis). */
export async function enforceTenantRate(deps: ApiDeps, principal: Principal): Promise<void> {
  if (principal.rpm === undefined) return;
  const member = `${Date.now()}:${randomBytes(6).toString('hex')}`;
  const waitMs = await deps.limiter.acquire(`tenant:${principal.tenant}`, { rpm: principal.rpm, windowMs: 60_000 }, member, 0);
  if (waitMs > 0) {
    throw new ApiError(`Rate limit of ${principal.rpm} requests per minute reached for tenant ${principal.tenant}`, {
      status: 429, type: 'rate_limit_error', code: 'rate_limit_exceeded', retryAfter: Math.ceil(waitMs / 1000),
    });
  }
}

/** Marks candidates whose circuit is open or whose estimate passes the tenant's remaining budget. */
async function applyHealthAndBudget(deps: ApiDeps, principal: Principal, routing: RoutingDecision, now: number): Promise<ReadonlySet<string>> {
  const open = await deps.circuits.openProviders();
  const remaining = principal.monthlyBudgetUsd === undefined ? Infinity : principal.monthlyBudgetUsd - (await deps.spend.spent(principal.tenant, now));
  for (const candidate of routing.candidates) {
    if (!candidate.eligible) continue;
    if ((candidate.est_cost_usd ?? 0) > remaining) Object.assign(candidate, { eligible: false, reason: 'over_budget' });
    else if (open.has(candidate.provider)) Object.assign(candidate, { eligible: false, reason: 'circuit_open' });
  }
  if (remaining !== Infinity && routing.candidates.some((c) => c.reason === 'over_budget') && !routing.candidates.some(isRoutable)) {
    throw budgetExceeded(principal, remaining);
  }
  return open;
}

const budgetExceeded = (principal: Principal, remaining: number): ApiError =>
  new ApiError(`Monthly budget of $${principal.monthlyBudgetUsd} for tenant ${principal.tenant} is exhausted ($${Math.max(0, remaining).toFixed(6)} left)`, {
    status: 429, type: 'rate_limit_error', code: 'budget_exceeded', retryAfter: secondsToNextMonth(new Date()),
  });

/**
 * Routes a validated job request, reserves its estimate against the budget, writes its record, then
 * enqueues it on the first healthy target's provider queue. The record is written first so a worker
 * never meets a job without one; a job whose targets are all down waits on the first one's paused queue.
 */
export async function submitJob(deps: ApiDeps, principal: Principal, request: JobRequest, options: SubmitOptions = {}): Promise<Submitted> {
  const { config, store, queues, logger } = deps;
  if (request.webhook !== undefined) checkWebhook(deps, principal, request.webhook.url);
  const id = newJobId();
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
      return { record: existing, replayed: true };
    }
    release = claim.release;
  }
  try {
    return { record: await createAndEnqueue(deps, principal, request, id), replayed: false };
  } catch (error) {
    await release();
    throw error;
  }
}

async function createAndEnqueue(deps: ApiDeps, principal: Principal, request: JobRequest, id: string): Promise<JobRecord> {
  const { config, store, queues, logger } = deps;
  const stored = splitJobRequest(request);
  const now = Math.floor(Date.now() / 1000);
  const routing = resolveRoute(config, { ...request, params: stored.params }, deps.price);
  const open = await applyHealthAndBudget(deps, principal, routing, now);
  const choice = chooseTarget(routing.candidates, [], open);
  const candidate = choice === null ? undefined : routing.candidates[choice.index];
  if (choice === null || candidate === undefined) {
    const reasons = routing.candidates.map((c) => `${c.provider}/${c.model}: ${c.reason}`).join(', ');
    throw new ApiError(`No target of "${request.model}" can take the job (${reasons})`, {
      status: 400, type: 'invalid_request_error', code: 'no_eligible_target', param: 'model',
    });
  }
  const reserved = candidate.est_cost_usd ?? 0;
  if (principal.monthlyBudgetUsd !== undefined || reserved > 0) {
    const reservation = await deps.spend.reserve(principal.tenant, now, reserved, principal.monthlyBudgetUsd);
    if (!reservation.ok) throw budgetExceeded(principal, (principal.monthlyBudgetUsd ?? 0) - reservation.spentUsd);
  }
  const entry = queueJobId(id, 0);
  const record: JobRecord = {
    id,
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
    target: choice.index,
    queue_job_id: entry,
    tries: 0,
    exhausted: [],
    reserved_usd: reserved,
    running_since: null,
    provider: null,
    provider_model: null,
    result: null,
    error: null,
    usage: null,
    cost_usd: null,
    cost_details: null,
    attempts: [],
    webhook: request.webhook ?? null,
    webhook_status: request.webhook ? 'pending' : null,
    deliveries: [],
    batch_id: null,
    metadata: request.metadata,
  };
  const queue = queues.get(candidate.provider);
  if (queue === undefined) throw new Error(`no queue for provider ${candidate.provider}`);
  await store.create(record);
  try {
    await queue.add(PROVIDER_JOB_NAME, { id, target: choice.index, tries: 0 }, providerJobOptions(entry, record.priority, record.tier));
  } catch (error) {
    // Not enqueued means not accepted: drop the record (and the reservation) so nothing polls a job that never runs.
    await Promise.all([store.remove(id, record.tenant), reserved > 0 ? deps.spend.adjust(record.tenant, now, -reserved) : undefined]).catch(() => undefined);
    throw error;
  }
  logger.info(
    {
      job_id: id, tenant: record.tenant, route: routing.route, strategy: routing.strategy, provider: candidate.provider, model: candidate.model,
      est_cost_usd: candidate.est_cost_usd, waiting: choice.waiting, candidates: routing.candidates,
    },
    choice.waiting ? 'job accepted: every target is down, it waits queued for one to recover' : 'job accepted',
  );
  return record;
}
