import {
  announceJobEnded,
  chooseTarget,
  DEAD_LETTER_QUEUE,
  requeueJob,
  type JobError,
  type JobRecord,
} from '@sluice/shared';
import type { WorkerContext } from './worker-context.ts';

export const seconds = (ms: number): number => Math.floor(ms / 1000);

/** Log fields every job event carries (DESIGN.md §8). */
export const jobFields = (record: JobRecord) => ({ job_id: record.id, tenant: record.tenant, route: record.routing.route });

/** Releases what the job reserved of its tenant's budget, charging the real cost instead (0 when it never succeeded). */
export async function settleSpend(context: WorkerContext, record: JobRecord, costUsd: number | null): Promise<void> {
  const delta = (costUsd ?? 0) - record.reserved_usd;
  if (delta !== 0) await context.spend.adjust(record.tenant, record.created_at, delta);
}

/** Ends a job as failed; when every target is exhausted it also goes to the dead-letter queue. */
export async function failJob(context: WorkerContext, record: JobRecord, error: JobError, guard: string, deadLetter: boolean): Promise<void> {
  // The dead letter is written first, so a client that sees `failed` also finds it in the list.
  const letter = deadLetter
    ? await context.deadLetters.add(
        DEAD_LETTER_QUEUE,
        { id: record.id, tenant: record.tenant, model: record.model, error, failed_at: seconds(Date.now()) },
        { jobId: record.id, removeOnComplete: true, removeOnFail: true },
      )
    : null;
  const failed = await context.store.transition(record.id, ['queued', 'running'], 'failed', { completed_at: seconds(Date.now()), running_since: null, error }, guard);
  if (!failed.ok) {
    await letter?.remove().catch(() => undefined);
    return;
  }
  await settleSpend(context, record, null);
  await announceJobEnded(context, record.id);
  context.logger.warn({ ...jobFields(record), outcome: 'failed', reason: error.code, err: error.message, dead_letter: deadLetter }, 'job failed');
}

export interface FailoverRequest {
  reason: string;
  /** Whether this target is used up for the job (retries exhausted, refused for good) or only unavailable. */
  exhaust: boolean;
  /** The queue entry the caller holds; the move only happens while it is still the live one. */
  guard: string;
  lastError: string;
}

/**
 * Moves a job to its next target: the first routable one it has not exhausted whose circuit is
 * closed, else one to wait on; with none left it fails into the dead-letter queue.
 */
export async function failover(context: WorkerContext, record: JobRecord, request: FailoverRequest): Promise<void> {
  const exhausted = request.exhaust && !record.exhausted.includes(record.target) ? [...record.exhausted, record.target] : record.exhausted;
  const open = await context.circuits.openProviders(true);
  const choice = chooseTarget(record.routing.candidates, exhausted, open);
  if (choice === null) {
    await failJob(
      context,
      record,
      { type: 'provider_error', code: 'all_targets_failed', message: `every target failed; last error: ${request.lastError}` },
      request.guard,
      true,
    );
    return;
  }
  const sameTarget = choice.index === record.target;
  const moved = await requeueJob(context.store, context.queues, { ...record, queue_job_id: request.guard }, {
    target: choice.index,
    tries: sameTarget ? record.tries : 0,
    from: ['queued', 'running'],
    reason: request.reason,
    exhausted,
  });
  const to = record.routing.candidates[choice.index];
  if (moved) {
    context.logger.warn(
      { ...jobFields(record), provider: record.routing.candidates[record.target]?.provider, to: to?.provider, model: to?.model, reason: request.reason, waiting: choice.waiting },
      choice.waiting ? 'every remaining target is unavailable: job waits queued for one to recover' : 'job failed over to its next target',
    );
  }
}
