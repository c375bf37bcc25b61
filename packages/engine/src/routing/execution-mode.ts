import type { GatewayConfig } from '@sluice/shared';
import type { Execution, RoutingCandidate } from '../jobs/job-types.ts';
import type { Tier } from '../schemas/job-request.ts';

/** What decides how a job runs: its tier, whether its batch deferred it, and how long it may take. */
export interface ExecutionInput {
  tier: Tier;
  /** A child of a client's batch whose line did not ask for a faster tier. */
  batchChild: boolean;
  /** Unix seconds. */
  now: number;
  expiresAt: number;
  /** The client reads the output as it is generated: a provider batch cannot stream it. */
  streams?: boolean;
}

/**
 * How a new job runs on `candidate`: work that can wait (tier `economy`, or a batch child) goes to the
 * provider's batch API when it has `batch.enabled` and the deadline leaves `batch.min_lead_s` (and it does not stream); else
 * to its flex tier when `flex` covers the model; everything else, and a job that cannot wait, runs
 * in real time (null: nothing to store).
 */
export function chooseExecution(config: GatewayConfig, candidate: RoutingCandidate, job: ExecutionInput): Execution | null {
  if (job.tier !== 'economy' && !job.batchChild) return null;
  const provider = config.providers[candidate.provider];
  if (provider === undefined) return null;
  if (provider.batch.enabled && job.streams !== true && job.expiresAt - job.now >= provider.batch.min_lead_s) {
    return { mode: 'provider_batch', provider_batch_id: null, submitted_at: null, fallback_reason: null };
  }
  if (runsFlex(config, candidate)) return { mode: 'flex', provider_batch_id: null, submitted_at: null, fallback_reason: null };
  return null;
}

/** True when the target's provider sells the model in its flex tier (`flex.enabled` and listed). */
export function runsFlex(config: GatewayConfig, candidate: Pick<RoutingCandidate, 'provider' | 'model'>): boolean {
  const flex = config.providers[candidate.provider]?.flex;
  return flex !== undefined && flex.enabled && flex.models.includes(candidate.model);
}
