import type { RoutingCandidate } from '../jobs/job-types.ts';

/** A candidate that could take the job if its provider were healthy (only a circuit stands in its way). */
export const isRoutable = (candidate: RoutingCandidate): boolean => candidate.eligible || candidate.reason === 'circuit_open';

export interface TargetChoice {
  index: number;
  /** True when every remaining target's circuit is open: the job waits, queued, on this one's paused queue. */
  waiting: boolean;
}

/**
 * The job's next target: the first routable candidate it has not exhausted whose circuit is closed;
 * else the first one it has not exhausted (to wait on until that provider recovers); else null, when
 * every target is exhausted and the job has failed.
 */
export function chooseTarget(
  candidates: readonly RoutingCandidate[],
  exhausted: readonly number[],
  openProviders: ReadonlySet<string>,
): TargetChoice | null {
  let waitingOn: number | null = null;
  for (const [index, candidate] of candidates.entries()) {
    if (!isRoutable(candidate) || exhausted.includes(index)) continue;
    if (!openProviders.has(candidate.provider)) return { index, waiting: false };
    waitingOn ??= index;
  }
  return waitingOn === null ? null : { index: waitingOn, waiting: true };
}

/**
 * The routing decision in one log-friendly string, `provider/model=est_usd|reason` per candidate in
 * order (`ok` when eligible): the whole decision stays in the log at a fraction of a nested array's cost.
 */
export function summarizeCandidates(candidates: readonly RoutingCandidate[]): string {
  return candidates.map((c) => `${c.provider}/${c.model}=${c.est_cost_usd ?? 'unpriced'}|${c.eligible ? 'ok' : c.reason}`).join(' ');
}
