import { SluiceError } from '@sluice/shared';
import type { GatewayConfig, TraceContext } from '@sluice/shared';
import type { PriceLookup } from '../pricing/prices.ts';
import { queueJobId } from '../queues/queues.ts';
import type { CircuitView } from '../reliability/circuit-view.ts';
import type { SpendLedger } from '../reliability/spend.ts';
import { chooseTarget, isRoutable } from './choose-target.ts';
import { chooseExecution } from './execution-mode.ts';
import { resolveRoute } from './resolve-route.ts';
import { isEmbeddingsRequest, splitJobRequest, type AnyJobRequest } from '../schemas/job-request.ts';
import type { JobRecord, ResponseSettings, RoutingCandidate, RoutingDecision } from '../jobs/job-types.ts';

/** What planning a job reads: the routes, prices, open circuits and the tenant's spend. */
export interface PlanDeps {
  config: GatewayConfig;
  price: PriceLookup;
  circuits: CircuitView;
  spend: SpendLedger;
}

/** Who a job is for: the tenant and what limits its spending. */
export interface Submitter {
  tenant: string;
  monthlyBudgetUsd?: number | undefined;
  /** `economy`: a job whose usual target would pass the budget goes to the cheapest target that fits instead of a 429. */
  overBudget?: 'reject' | 'economy' | undefined;
  /** With a budget, targets without a price are ineligible (`no_price`) unless this is true. */
  allowUnpriced?: boolean | undefined;
}

/** A job Sluice will not accept: no target can take it (400) or the budget is spent (429). */
export class JobRejectedError extends SluiceError {
  readonly status: 400 | 429;
  readonly param: string | null;
  readonly retryAfter: number | undefined;
  constructor(message: string, options: { code: string; status: 400 | 429; param?: string | null; retryAfter?: number }) {
    super(message, { code: options.code });
    this.name = 'JobRejectedError';
    this.status = options.status;
    this.param = options.param ?? null;
    this.retryAfter = options.retryAfter;
  }
}

const secondsToNextMonth = (now: Date): number => {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1);
  return Math.max(1, Math.ceil((next - now.getTime()) / 1000));
};

const budgetExceeded = (submitter: Submitter, remaining: number): JobRejectedError =>
  new JobRejectedError(`Monthly budget of $${submitter.monthlyBudgetUsd} for tenant ${submitter.tenant} is exhausted ($${Math.max(0, remaining).toFixed(6)} left)`, {
    code: 'budget_exceeded', status: 429, retryAfter: secondsToNextMonth(new Date()),
  });

/**
 * Marks candidates whose circuit is open or whose estimate passes the tenant's remaining budget; with
 * a budget, a target without a price is ineligible too (its cost would be invisible to the budget).
 */
async function applyHealthAndBudget(deps: PlanDeps, submitter: Submitter, routing: RoutingDecision, now: number): Promise<ReadonlySet<string>> {
  const open = await deps.circuits.openProviders();
  const remaining = submitter.monthlyBudgetUsd === undefined ? Infinity : submitter.monthlyBudgetUsd - (await deps.spend.spent(submitter.tenant, now));
  const pricedOnly = submitter.monthlyBudgetUsd !== undefined && submitter.allowUnpriced !== true;
  const usual = routing.candidates.find((candidate) => candidate.eligible && !open.has(candidate.provider) && !(pricedOnly && candidate.est_cost_usd === null));
  for (const candidate of routing.candidates) {
    if (!candidate.eligible) continue;
    if (pricedOnly && candidate.est_cost_usd === null) Object.assign(candidate, { eligible: false, reason: 'no_price' });
    else if ((candidate.est_cost_usd ?? 0) > remaining) Object.assign(candidate, { eligible: false, reason: 'over_budget' });
    else if (open.has(candidate.provider)) Object.assign(candidate, { eligible: false, reason: 'circuit_open' });
  }
  if (submitter.overBudget === 'economy' && usual?.reason === 'over_budget') {
    // The tenant's usual target would pass its budget: route this job as economy, cheapest first.
    routing.strategy = 'cheapest';
    routing.tier = 'economy';
    routing.candidates.sort((a, b) => (a.est_cost_usd ?? Infinity) - (b.est_cost_usd ?? Infinity));
  }
  if (remaining !== Infinity && routing.candidates.some((c) => c.reason === 'over_budget') && !routing.candidates.some(isRoutable)) {
    throw budgetExceeded(submitter, remaining);
  }
  return open;
}

export interface PlanOptions {
  id: string;
  batchId?: string;
  customId?: string;
  /**
   * A child of a client's batch whose line did not ask for a faster tier: it may wait, like an
   * `economy` job, for the provider's batch API or flex tier. Default false.
   */
  batchChild?: boolean;
  /** Set for a job made by `POST /v1/responses`: what its response needs beyond the chat request. */
  response?: ResponseSettings;
  /** The trace context of the request that submits it, when tracing is on. */
  trace?: TraceContext | null;
}

export interface PlannedJob {
  record: JobRecord;
  candidate: RoutingCandidate;
  /** Every remaining target is down: the job waits on the first one's paused queue. */
  waiting: boolean;
}

/**
 * Routes a validated request into a job record: candidates with estimates and reasons, the first
 * healthy target, the deadline, and (by default) the estimate reserved against the tenant's budget.
 */
export async function planJob(deps: PlanDeps, submitter: Submitter, request: AnyJobRequest, options: PlanOptions): Promise<PlannedJob> {
  const stored = splitJobRequest(request);
  const now = Math.floor(Date.now() / 1000);
  const routing = resolveRoute(deps.config, { ...request, ...stored }, deps.price);
  const open = await applyHealthAndBudget(deps, submitter, routing, now);
  const choice = chooseTarget(routing.candidates, [], open);
  const candidate = choice === null ? undefined : routing.candidates[choice.index];
  if (choice === null || candidate === undefined) throw noEligibleTarget(request, routing.candidates);
  // Only a tenant with a budget reserves at submit (one round trip); every tenant's spend is
  // settled with the real cost when its job ends either way.
  let reserved = 0;
  if (submitter.monthlyBudgetUsd !== undefined) {
    reserved = candidate.est_cost_usd ?? 0;
    const reservation = await deps.spend.reserve(submitter.tenant, now, reserved, submitter.monthlyBudgetUsd);
    if (!reservation.ok) throw budgetExceeded(submitter, submitter.monthlyBudgetUsd - reservation.spentUsd);
  }
  const record = newJobRecord({ config: deps.config, submitter, request, options, stored, routing, target: choice.index, now, reserved });
  // Embeddings run in real time: neither a provider's batch API nor its flex tier is used for them.
  record.execution = isEmbeddingsRequest(request) ? null : chooseExecution(deps.config, candidate, {
    tier: record.tier, batchChild: options.batchChild ?? false, now, expiresAt: record.expires_at, streams: record.stream !== null,
  });
  return { record, candidate, waiting: choice.waiting };
}

/** The request field a reason is about, when every target was refused for it (else `model`). */
const PARAM_OF_REASON: Partial<Record<string, string>> = { dimensions_unsupported: 'dimensions', token_input_unsupported: 'input' };

/** The 400 for a request none of whose targets can take it, with each target's reason. */
function noEligibleTarget(request: AnyJobRequest, candidates: readonly RoutingCandidate[]): JobRejectedError {
  const reasons = candidates.map((c) => `${c.provider}/${c.model}: ${c.reason}`).join(', ');
  const hint = candidates.some((c) => c.reason === 'no_price')
    ? '; no_price: the key has a monthly budget and the target has no price (add it to `pricing`, or set allow_unpriced on the key)'
    : '';
  const params = new Set(candidates.map((c) => PARAM_OF_REASON[c.reason ?? ''] ?? 'model'));
  const job = isEmbeddingsRequest(request) ? 'embeddings job' : 'job';
  return new JobRejectedError(`No target of "${request.model}" can take the ${job} (${reasons})${hint}`, { code: 'no_eligible_target', status: 400, param: params.size === 1 ? [...params][0] : 'model' });
}

/** What a new job record is made of: the request as stored, where it was routed and what it reserved. */
export interface NewJob {
  config: GatewayConfig;
  submitter: Submitter;
  request: AnyJobRequest;
  options: PlanOptions;
  stored: JobRecord['request'];
  routing: RoutingDecision;
  /** The index of the chosen candidate. */
  target: number;
  /** Unix seconds. */
  now: number;
  reserved: number;
}

/** A queued job's record, before any try: nothing run, nothing delivered. */
export function newJobRecord({ config, submitter, request, options, stored, routing, target, now, reserved }: NewJob): JobRecord {
  return {
    id: options.id,
    tenant: submitter.tenant,
    status: 'queued',
    model: request.model,
    priority: request.priority,
    tier: routing.tier, // the request's, or economy when the budget routed it so
    created_at: now,
    started_at: null,
    completed_at: null,
    expires_at: now + (request.deadline_s ?? config.jobs.default_deadline_s),
    request: stored,
    routing,
    target,
    queue_job_id: queueJobId(options.id, 0),
    tries: 0,
    exhausted: [],
    refused: [],
    replayed_calls: 0,
    reserved_usd: reserved,
    running_since: null,
    provider: null,
    provider_model: null,
    result: null,
    error: null,
    usage: null,
    cost_usd: null,
    cost_details: null,
    execution: null,
    attempts: [],
    webhook: request.webhook ?? null,
    webhook_status: request.webhook ? 'pending' : null,
    deliveries: [],
    batch_id: options.batchId ?? null,
    custom_id: options.customId ?? null,
    metadata: request.metadata,
    cache: null,
    cache_entry: null,
    stream: !isEmbeddingsRequest(request) && request.stream === true ? { include_usage: request.stream_options?.include_usage === true } : null,
    response: options.response ?? null,
    trace: options.trace ?? null,
  };
}
