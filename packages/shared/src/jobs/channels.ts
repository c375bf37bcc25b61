/** The Redis pub/sub channel on which API processes announce canceled job ids to every worker. */
export const cancelChannel = (prefix: string): string => `${prefix}:cancel`;
