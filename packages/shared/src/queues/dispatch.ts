import type { Queue } from 'bullmq';
import type { JobFields, JobStore } from '../jobs/job-store.ts';
import type { JobRecord, JobStatus } from '../jobs/job-types.ts';
import { getMetrics } from '../metrics/metrics.ts';
import { nextQueueJobId, PROVIDER_JOB_NAME, providerJobOptions, type QueuedJobData } from './queues.ts';

export interface Move {
  /** Candidate index of the new entry. */
  target: number;
  /** Attempts already made on that target. */
  tries: number;
  /** Statuses the record may be in; it becomes `queued`. */
  from: readonly JobStatus[];
  delayMs?: number;
  /** Recorded as a failover when the provider or model changes (or `recordFailover` says so). */
  reason?: string;
  /** Record the failover even when the target stays the same (a new round on it). */
  recordFailover?: boolean;
  exhausted?: number[];
  refused?: number[];
  fields?: JobFields;
}

/**
 * Gives a record a new live queue entry: first the record (guarded by the entry it has now, so two
 * movers never both move it), then the BullMQ job. A crash between the two leaves the old entry,
 * which the processor sees is stale and repairs by enqueueing what the record names.
 */
export async function requeueJob(
  store: JobStore,
  queues: ReadonlyMap<string, Queue<QueuedJobData>>,
  record: JobRecord,
  move: Move,
): Promise<boolean> {
  const candidate = record.routing.candidates[move.target];
  const previous = record.routing.candidates[record.target];
  const queue = candidate ? queues.get(candidate.provider) : undefined;
  if (candidate === undefined || queue === undefined) throw new Error(`job ${record.id}: no queue for target ${move.target}`);
  const entry = nextQueueJobId(record.queue_job_id, record.id);
  const changed = previous === undefined || previous.provider !== candidate.provider || previous.model !== candidate.model;
  const routing =
    move.reason !== undefined && (changed || move.recordFailover === true)
      ? {
          ...record.routing,
          failovers: [
            ...record.routing.failovers,
            { from: previous?.provider ?? '', to: candidate.provider, reason: move.reason, at: Math.floor(Date.now() / 1000) },
          ],
        }
      : undefined;
  const moved = await store.transition(
    record.id,
    move.from,
    'queued',
    { ...move.fields, target: move.target, tries: move.tries, queue_job_id: entry, running_since: null, exhausted: move.exhausted ?? record.exhausted, refused: move.refused ?? record.refused, ...(routing ? { routing } : {}) },
    record.queue_job_id,
  );
  if (!moved.ok) return false;
  if (routing !== undefined) getMetrics().failovers.inc({ from: previous?.provider ?? '', to: candidate.provider, reason: move.reason ?? 'unknown' });
  await queue.add(
    PROVIDER_JOB_NAME,
    { id: record.id },
    providerJobOptions(entry, record.priority, record.tier, move.delayMs),
  );
  return true;
}

/** Re-creates the entry a record names when a crash left it unwritten. */
export async function repairEntry(queues: ReadonlyMap<string, Queue<QueuedJobData>>, record: JobRecord): Promise<boolean> {
  const candidate = record.routing.candidates[record.target];
  const queue = candidate ? queues.get(candidate.provider) : undefined;
  if (queue === undefined || record.queue_job_id === '') return false;
  if ((await queue.getJob(record.queue_job_id)) !== undefined) return false;
  await queue.add(PROVIDER_JOB_NAME, { id: record.id }, providerJobOptions(record.queue_job_id, record.priority, record.tier));
  return true;
}
