import type { KeepJobs } from 'bullmq';
import type { GatewayConfig } from '@sluice/shared';

/** BullMQ's removal options of a queue's finished entries (`{count: 0}`: removed at once). */
export interface KeptEntries {
  removeOnComplete: KeepJobs;
  removeOnFail: KeepJobs;
}

const keep = (setting: { count: number; age_s: number }): KeepJobs => (setting.count === 0 ? { count: 0 } : { count: setting.count, age: setting.age_s });

/**
 * What `queues.keep_completed` and `queues.keep_failed` keep of each queue's finished entries, in
 * the shape both an entry's options and a Worker's take. They are history for operators (Bull
 * Board): the job record stays the truth, and nothing in Sluice reads a finished entry back. BullMQ
 * drops entries past the count at once, and those past the age when a later entry of the same queue
 * finishes.
 */
export function keptEntries(queues: GatewayConfig['queues']): KeptEntries {
  return { removeOnComplete: keep(queues.keep_completed), removeOnFail: keep(queues.keep_failed) };
}
