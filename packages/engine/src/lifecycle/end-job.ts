import type { GatewayServices } from '../gateway-services.ts';
import { cancelChannel } from '../keys.ts';
import type { TransitionResult } from '../jobs/job-store.ts';
import type { JobError, JobRecord, JobStatus } from '../jobs/job-types.ts';
import { announceJobEnded } from './job-ended.ts';

export interface EndOptions {
  to: 'canceled' | 'expired';
  error: JobError;
  /** Statuses it may end from. Default queued and running. */
  from?: readonly JobStatus[];
}

/**
 * Ends a job that has not finished, from outside the worker holding it (a client's cancel, a batch
 * cancel, the deadline sweep): the guarded status change, then its queue entry dropped (a worker
 * that still picks it sees the record and skips it), a running provider call aborted on whichever
 * worker holds it, its budget reservation released, and its end announced.
 */
export async function endUnfinishedJob(services: GatewayServices, record: JobRecord, options: EndOptions): Promise<TransitionResult> {
  const outcome = await services.store.transition(record.id, options.from ?? ['queued', 'running'], options.to, {
    completed_at: Math.floor(Date.now() / 1000),
    running_since: null,
    error: options.error,
  });
  if (!outcome.ok) return outcome;
  const provider = record.routing.candidates[record.target]?.provider ?? '';
  await Promise.all([
    services.queues.get(provider)?.remove(record.queue_job_id).catch(() => 0),
    outcome.previous === 'running' ? services.redis.publish(cancelChannel(services.config.redis.prefix), record.id) : undefined,
    record.reserved_usd > 0 ? services.spend.adjust(record.tenant, record.created_at, -record.reserved_usd) : undefined,
  ]);
  await announceJobEnded(services, record.id);
  return outcome;
}
