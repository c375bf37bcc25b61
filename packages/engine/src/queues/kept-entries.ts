import type { KeepJobs } from 'bullmq';
import type { GatewayConfig } from '@sluice/shared';

/** BullMQ's removal options of a queue's finished entries. */
export interface KeptEntries {
  removeOnComplete: true | KeepJobs;
  removeOnFail: true | KeepJobs;
}

const keep = (setting: { count: number; age_s: number }): true | KeepJobs => (setting.count === 0 ? true : { count: setting.count, age: setting.age_s });

/**
 * What `queues.keep_completed` and `queues.keep_failed` keep of each queue's finished entries. They
 * are history for operators (Bull Board): the job record stays the truth, and nothing in Sluice
 * reads a finished entry back. BullMQ drops entries past the count at once, and those past the age
 * when a later entry of the same queue finishes.
 */
export function keptEntries(queues: GatewayConfig['queues']): KeptEntries {
  return { removeOnComplete: keep(queues.keep_completed), removeOnFail: keep(queues.keep_failed) };
}

/** The same, as a Worker's options take it (`{count: 0}` for removed at once): what a provider Worker keeps of its entries. */
export function workerKeptEntries(queues: GatewayConfig['queues']): { removeOnComplete: KeepJobs; removeOnFail: KeepJobs } {
  const asKeepJobs = (kept: true | KeepJobs): KeepJobs => (kept === true ? { count: 0 } : kept);
  const { removeOnComplete, removeOnFail } = keptEntries(queues);
  return { removeOnComplete: asKeepJobs(removeOnComplete), removeOnFail: asKeepJobs(removeOnFail) };
}
