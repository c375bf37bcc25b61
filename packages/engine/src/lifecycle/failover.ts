import { traceIdOf } from '@sluice/shared';
import { callsMade, type JobError, type JobRecord } from '../jobs/job-types.ts';
import { chooseTarget } from '../routing/choose-target.ts';
import type { Lifecycle } from './lifecycle.ts';
import { requeueJob } from './requeue.ts';

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Log fields every job event carries; with tracing on, the trace the job is part of. */
export const jobLogFields = (record: JobRecord) =>
  record.trace === null ? { job_id: record.id, tenant: record.tenant, route: record.routing.route } : { job_id: record.id, tenant: record.tenant, route: record.routing.route, trace_id: traceIdOf(record.trace.traceparent) };

/** Ends a job as failed; when every target is exhausted it also goes to the dead-letter queue. */
export async function failJob(lifecycle: Lifecycle, record: JobRecord, error: JobError, guard: string, deadLetter: boolean): Promise<void> {
  const { letters, store, logger } = lifecycle.deps;
  // The dead letter is written first, so a client that sees `failed` also finds it in the list.
  if (deadLetter) await letters.add(record, error);
  const failed = await store.transition(record, ['queued', 'running'], 'failed', { completed_at: seconds(Date.now()), running_since: null, error }, guard);
  if (!failed.ok) {
    if (deadLetter) await letters.remove(record).catch(() => false);
    return;
  }
  await lifecycle.settleReservation(record, null);
  await lifecycle.announce(record.id);
  logger.warn({ ...jobLogFields(record), outcome: 'failed', reason: error.code, err: error.message, dead_letter: deadLetter }, 'job failed');
}

export interface FailoverRequest {
  reason: string;
  /** Whether this target is used up for the job in this round (retries exhausted, refused) or only unavailable. */
  exhaust: boolean;
  /** Whether it cannot take the job on a later try either (context too long, refused credentials, workers killed running it): no new round tries it again. */
  refuse?: boolean;
  /** True right after a failed provider call (it counts toward `jobs.max_attempts`). */
  attempted?: boolean;
  /** The queue entry the caller holds; the move only happens while it is still the live one. */
  guard: string;
  lastError: string;
}

/**
 * Moves a job to its next target: the first routable one it has not exhausted whose circuit is
 * closed, else one to wait on. When every target is used up on errors that may pass (a correlated
 * outage), another round starts after the longest backoff, until `jobs.max_attempts` calls or the
 * deadline; only a job with no target left that could ever take it fails into the dead letters.
 */
export async function failoverJob(lifecycle: Lifecycle, record: JobRecord, request: FailoverRequest): Promise<void> {
  const { config, logger, circuits, store, entries } = lifecycle.deps;
  const add = (list: number[], index: number): number[] => (list.includes(index) ? list : [...list, index]);
  const exhausted = request.exhaust || request.refuse ? add(record.exhausted, record.target) : record.exhausted;
  const refused = request.refuse ? add(record.refused, record.target) : record.refused;
  if (request.attempted && callsMade(record) + 1 >= config.jobs.max_attempts) {
    await lifecycle.failMaxAttempts(record, request.guard, request.lastError);
    return;
  }
  const open = await circuits.openProviders(true);
  let choice = chooseTarget(record.routing.candidates, exhausted, open);
  let round: { delayMs: number } | null = null;
  if (choice === null) {
    // Every target is used up. Those that failed on errors that may pass get another round.
    choice = chooseTarget(record.routing.candidates, refused, open);
    const provider = choice === null ? undefined : record.routing.candidates[choice.index]?.provider;
    if (choice !== null) round = { delayMs: config.providers[provider ?? '']?.retry.max_backoff_ms ?? 60_000 };
  }
  if (choice === null) {
    await failJob(
      lifecycle,
      record,
      { type: 'provider_error', code: 'all_targets_failed', message: `every target failed; last error: ${request.lastError}` },
      request.guard,
      true,
    );
    return;
  }
  const sameTarget = choice.index === record.target;
  const moved = await requeueJob(store, entries, { ...record, queue_job_id: request.guard }, {
    target: choice.index,
    tries: sameTarget && round === null ? record.tries : 0,
    from: ['queued', 'running'],
    reason: round === null ? request.reason : 'new_round',
    recordFailover: round !== null,
    exhausted: round === null ? exhausted : refused,
    refused,
    ...(round === null ? {} : { delayMs: round.delayMs }),
  });
  if (!moved) return;
  const to = record.routing.candidates[choice.index];
  const fields = { ...jobLogFields(record), provider: record.routing.candidates[record.target]?.provider, to: to?.provider, model: to?.model, reason: request.reason, waiting: choice.waiting };
  if (round !== null) logger.warn({ ...fields, delay_ms: round.delayMs, calls: callsMade(record) + (request.attempted ? 1 : 0) }, 'every target failed on errors that may pass: another round starts after the longest backoff');
  else logger.warn(fields, choice.waiting ? 'every remaining target is unavailable: job waits queued for one to recover' : 'job failed over to its next target');
}
