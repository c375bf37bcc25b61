import type { JobFields, JobStore } from '../jobs/job-store.ts';
import type { JobRecord, JobStatus } from '../jobs/job-types.ts';
import { getMetrics } from '@sluice/shared';
import type { EntryWriter } from '../queues/entries.ts';
import { nextQueueJobId } from '../queues/queues.ts';
import { entryOf } from './submit.ts';

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
 * movers never both move it), then the BullMQ job. The move is noted beforehand and cleared after:
 * when the entry cannot be written (Redis refusing writes at maxmemory) or the writer dies between
 * the two, the worker's housekeeping finds the note and writes the entry the record names.
 */
export async function requeueJob(
  store: JobStore,
  entries: EntryWriter,
  record: JobRecord,
  move: Move,
): Promise<boolean> {
  const candidate = record.routing.candidates[move.target];
  const previous = record.routing.candidates[record.target];
  if (candidate === undefined || !entries.queues.has(candidate.provider)) throw new Error(`job ${record.id}: no queue for target ${move.target}`);
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
  await store.requeuing(record.id);
  const moved = await store.transition(
    record,
    move.from,
    'queued',
    { ...move.fields, target: move.target, tries: move.tries, queue_job_id: entry, running_since: null, exhausted: move.exhausted ?? record.exhausted, refused: move.refused ?? record.refused, ...(routing ? { routing } : {}) },
    record.queue_job_id,
  );
  if (!moved.ok) {
    await store.requeued(record.id);
    return false;
  }
  if (routing !== undefined) getMetrics().failovers.inc({ from: previous?.provider ?? '', to: candidate.provider, reason: move.reason ?? 'unknown' });
  await entries.add(candidate.provider, [entryOf({ ...record, queue_job_id: entry }, move.delayMs)]);
  await store.requeued(record.id);
  return true;
}

/**
 * Re-creates the entry a record names when a crash or a refused write left it unwritten. An entry
 * that finished (kept for Bull Board, `queues.keep_*`) runs nothing: it counts as lost, and goes
 * first, since BullMQ ignores an add whose id it still holds.
 */
export async function repairEntry(entries: EntryWriter, record: JobRecord): Promise<boolean> {
  const provider = record.routing.candidates[record.target]?.provider;
  const queue = provider === undefined ? undefined : entries.queues.get(provider);
  if (provider === undefined || queue === undefined || record.queue_job_id === '') return false;
  const state = await queue.getJobState(record.queue_job_id);
  if (state !== 'unknown' && state !== 'completed' && state !== 'failed') return false;
  if (state !== 'unknown') await queue.remove(record.queue_job_id);
  await entries.add(provider, [entryOf(record)]);
  return true;
}

/**
 * Writes the entries of jobs whose requeue did not finish `graceMs` ago (see requeueJob); returns
 * how many it re-created. A job that ended, or whose entry exists, is only un-noted.
 */
export async function repairStuckRequeues(store: JobStore, entries: EntryWriter, graceMs: number): Promise<string[]> {
  const repaired: string[] = [];
  for (const id of await store.stuckRequeues(Date.now() - graceMs, 200)) {
    const record = await store.get(id);
    if (record !== null && record.status === 'queued' && (await repairEntry(entries, record))) repaired.push(id);
    await store.requeued(id);
  }
  return repaired;
}
