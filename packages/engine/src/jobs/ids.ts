import { randomUUID } from 'node:crypto';

/**
 * `job_` + 22 url-safe characters (a random UUID's 122 random bits; randomUUID draws from a cached
 * entropy pool, several times cheaper per id than randomBytes). Never contains ":", so it is a
 * valid BullMQ job id.
 */
export function newJobId(): string {
  return `job_${Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url')}`;
}

export const JOB_ID_PATTERN = /^job_[A-Za-z0-9_-]{22}$/;
