import type { KeepJobs } from 'bullmq';
import type { GatewayConfig } from '@sluice/shared';

/** BullMQ's removal options of a queue's finished entries. */
export interface KeptEntries {
  removeOnComplete: true | KeepJobs;
  removeOnFail: true | KeepJobs;
}

/** Finished entries go at once: what a queue keeps when the config is not at hand (unit tests). */
export const KEEP_NONE: KeptEntries = { removeOnComplete: true, removeOnFail: true };

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
