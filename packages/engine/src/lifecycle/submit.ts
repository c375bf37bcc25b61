import type { Redis } from 'ioredis';
import { isCluster } from '@sluice/shared';
import type { JobStore } from '../jobs/job-store.ts';
import type { JobRecord } from '../jobs/job-types.ts';
import type { EntrySpec, EntryWriter } from '../queues/entries.ts';

/** Where new jobs are written: their records and their provider queues. */
export interface SubmitDeps {
  redis: Redis;
  /** The records and the queue entries share one connection to one server, so they arrive in order. */
  orderedWrites: boolean;
  store: JobStore;
  entries: EntryWriter;
}

/** A record's live queue entry, as the entry writer places it. */
export const entryOf = (record: JobRecord, delayMs = 0): EntrySpec => ({
  jobId: record.id, entryId: record.queue_job_id, tenant: record.tenant, priority: record.priority, tier: record.tier, delayMs,
});

/**
 * Holds a plain connection's socket writes until the end of this event-loop turn, so a submit's
 * record and queue entry (and those of every other submit in the same turn) leave in one write;
 * reads elsewhere are not delayed as they would be by ioredis' auto-pipelining. Idempotent.
 */
function corkUntilNextTurn(redis: Redis): () => void {
  const stream = (redis as unknown as { stream?: { cork(): void; uncork(): void } }).stream;
  if (stream === undefined || isCluster(redis) || redis.status !== 'ready') return () => undefined;
  stream.cork();
  let released = false;
  return () => {
    if (released) return;
    released = true;
    setImmediate(() => stream.uncork());
  };
}

/**
 * Writes job records, then their queue entries (one bulk add per provider queue). The records go
 * first so a worker never meets an entry without one; when an add fails the records are removed and
 * their reservations released, so nothing polls a job that never runs.
 */
export async function submitJobs(
  deps: SubmitDeps,
  records: readonly JobRecord[],
  release: (record: JobRecord) => Promise<void>,
  defer: (records: readonly JobRecord[]) => Promise<void>,
): Promise<void> {
  if (records.length === 0) return;
  // On one connection to one server the records and the entries arrive in order, so they need not
  // wait for each other; otherwise (a Cluster, or separate connections) the records go first.
  const uncork = deps.orderedWrites ? corkUntilNextTurn(deps.redis) : () => undefined;
  const created = deps.store.createMany(records);
  created.catch(() => undefined);
  if (!deps.orderedWrites) await created;
  // Jobs deferred to a provider's batch API wait in Redis for a submission instead of a queue entry.
  const deferred = records.filter((record) => record.execution?.mode === 'provider_batch');
  const byProvider = new Map<string, JobRecord[]>();
  for (const record of records) {
    if (record.execution?.mode === 'provider_batch') continue;
    const provider = record.routing.candidates[record.target]?.provider ?? '';
    const group = byProvider.get(provider);
    if (group === undefined) byProvider.set(provider, [record]);
    else group.push(record);
  }
  try {
    for (const [provider, group] of byProvider) await deps.entries.add(provider, group.map((record) => entryOf(record)), uncork);
    uncork();
    await created;
  } catch (error) {
    uncork();
    await Promise.all(
      records.map((record) =>
        Promise.all([deps.store.remove(record.id, record.tenant), release(record)]),
      ),
    ).catch(() => undefined);
    throw error;
  }
  // The deferred jobs have no queue entry: if they cannot wait for a provider batch, only they are
  // taken back (the others are queued already).
  try {
    await defer(deferred);
  } catch (error) {
    await Promise.all(deferred.map((record) => Promise.all([deps.store.remove(record.id, record.tenant), release(record)]))).catch(() => undefined);
    throw error;
  }
}
