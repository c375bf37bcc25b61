import { randomUUID } from 'node:crypto';

/** 22 url-safe characters: a random UUID's 122 random bits (randomUUID draws from a cached entropy pool, several times cheaper per id than randomBytes). */
const randomSuffix = (): string => Buffer.from(randomUUID().replaceAll('-', ''), 'hex').toString('base64url');

/** `job_` + 22 url-safe characters. Never contains ":", so it is a valid BullMQ job id. */
export function newJobId(): string {
  return `job_${randomSuffix()}`;
}

/**
 * `resp_` + 22 url-safe characters: the id of a job made by `POST /v1/responses`, which is both the
 * response's id and the job's (every job route takes it).
 */
export function newResponseId(): string {
  return `resp_${randomSuffix()}`;
}

/** Any job's id: `job_…`, or `resp_…` for a job made as a response. */
export const JOB_ID_PATTERN = /^(?:job|resp)_[A-Za-z0-9_-]{22}$/;

/** The id of a job made as a response. */
export const RESPONSE_ID_PATTERN = /^resp_[A-Za-z0-9_-]{22}$/;
