import { corked, isCluster, type Usage } from '@sluice/shared';
import type { JobFields, TransitionResult } from '../jobs/job-store.ts';
import type { Attempt, CostDetails, ExecutionMode, JobRecord, JobResult, JobStatus, RoutingCandidate } from '../jobs/job-types.ts';
import { modelCatalog } from '../metrics/model-labels.ts';
import { cacheWriteFor, storeInCache } from './cache.ts';
import type { Lifecycle } from './lifecycle.ts';

const seconds = (ms: number): number => Math.floor(ms / 1000);

export interface SuccessInput {
  record: JobRecord;
  /** The queue entry that ran the call. */
  entry: string;
  candidate: RoutingCandidate;
  attempt: Attempt;
  /** The answer: a chat completion, or an embeddings list. */
  result: JobResult;
  usage: Usage | null;
  cost: { usd: number | null; details: CostDetails };
  latencyMs: number;
  startedAt: number;
  /** How the call ran; written on a job that has an execution record (flex, provider batch, a fallback). Default realtime. */
  mode?: ExecutionMode;
  /** Counts the call for the provider's breaker (latency and success). Default true; a batch line's is not a call. */
  breaker?: boolean;
  /** Settles the `tpm` charge with real usage, when the provider has one. */
  correctTokens: (() => Promise<void>) | null;
}

/**
 * Writes a succeeded call: the status (guarded by the entry, so a job is billed once however many
 * times a crash made it run), its attempt and result, then usage, spend and the deadline index.
 * On one server all of that is one script in one write; on a Cluster the keys live in different
 * slots, so the same writes go as separate commands.
 */
export async function recordSuccess(lifecycle: Lifecycle, input: SuccessInput): Promise<TransitionResult> {
  const { redis, config, succeeder, breaker, store } = lifecycle.deps;
  const { record, entry, candidate, usage, cost } = input;
  const completedAt = seconds(Date.now());
  const fields: JobFields = {
    completed_at: completedAt, running_since: null, result: input.result, usage, cost_usd: cost.usd, cost_details: cost.details, error: null,
    ...(record.execution === null ? {} : { execution: { ...record.execution, mode: input.mode ?? 'realtime' } }),
  };
  const ended: JobRecord = {
    ...record, ...fields, status: 'succeeded', started_at: record.started_at ?? seconds(input.startedAt),
    provider: candidate.provider, provider_model: candidate.model, attempts: [...record.attempts, input.attempt],
  } as JobRecord;
  // On one server the answer goes to the response cache inside the success script: only if the
  // guard lets the success through, and before the end is announced, so a client repeating the
  // request at once finds it.
  const cacheable = { record, candidate, result: input.result, usage, costUsd: cost.usd };
  const [succeeded, side] = corked(redis, () => [
    succeeder.succeed({
      record, guard: entry, attempt: input.attempt, fields, provider: candidate.provider, model: candidate.model, usage, costUsd: cost.usd, completedAt,
      listed: modelCatalog(config).listed(candidate.provider, candidate.model), cache: isCluster(redis) ? null : cacheWriteFor(lifecycle, cacheable),
    }),
    Promise.all([input.breaker === false ? undefined : breaker.record(candidate.provider, true, input.latencyMs), input.correctTokens?.()]),
  ] as const);
  const outcome = await succeeded;
  await side;
  if (outcome !== null) {
    if (outcome.ok) await lifecycle.announce(ended, { accounted: true });
    return { ok: outcome.ok, previous: outcome.previous as JobStatus | null };
  }
  // A Cluster: the attempt goes first, then the guarded status change, then the accounting.
  const [, finished] = await Promise.all(
    corked(redis, () => [
      store.appendAttempt(record.id, input.attempt),
      store.transition(record, ['running'], 'succeeded', fields, entry),
    ] as const),
  );
  // Only the write that won stores the answer (just after its end is announced, on a Cluster).
  if (finished.ok) await Promise.all([lifecycle.settleReservation(record, cost.usd), lifecycle.announce(ended), storeInCache(lifecycle, cacheable)]);
  return finished;
}
