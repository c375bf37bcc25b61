import { randomBytes } from 'node:crypto';

/** `job_` + 22 url-safe characters (128 random bits); never contains ":" so it is a valid BullMQ job id. */
export function newJobId(): string {
  return `job_${randomBytes(16).toString('base64url')}`;
}

export const JOB_ID_PATTERN = /^job_[A-Za-z0-9_-]{22}$/;
