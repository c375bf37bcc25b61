/** The Redis pub/sub channel on which API processes announce canceled job ids to every worker. */
export const cancelChannel = (prefix: string): string => `${prefix}:cancel`;

/** The pub/sub channel on which every status change of one job is announced (the new status). */
export const jobEventsChannel = (prefix: string, jobId: string): string => `${prefix}:job-events:${jobId}`;
