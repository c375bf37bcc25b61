import { createHash } from 'node:crypto';
import { idempotencyKey } from '@sluice/engine';
import type { Redis } from '@sluice/shared';
import { ApiError } from '../api-error.ts';

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

export type IdempotencyClaim =
  | { kind: 'claimed'; release: () => Promise<void> }
  | { kind: 'replay'; jobId: string };

/** Checks the `Idempotency-Key` header: 1–255 visible ASCII characters. */
export function readIdempotencyKey(header: string | string[] | undefined): string | null {
  if (header === undefined) return null;
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^[\x21-\x7e]{1,255}$/.test(value)) {
    throw new ApiError('Idempotency-Key must be 1 to 255 visible ASCII characters', {
      status: 400, type: 'invalid_request_error', code: 'invalid_idempotency_key', param: 'Idempotency-Key',
    });
  }
  return value;
}

/**
 * Claims an idempotency key for a tenant (SET NX, so two concurrent requests cannot both win). A key
 * already used with the same body replays that job; with another body it is a 409.
 */
export async function claimIdempotencyKey(
  redis: Redis,
  options: { prefix: string; tenant: string; key: string; body: unknown; jobId: string; ttlSeconds: number },
): Promise<IdempotencyClaim> {
  const redisKey = idempotencyKey(options.prefix, options.tenant, sha256(options.key));
  const bodyHash = sha256(JSON.stringify(options.body));
  const claimed = await redis.set(redisKey, `${options.jobId} ${bodyHash}`, 'EX', options.ttlSeconds, 'NX');
  if (claimed === 'OK') return { kind: 'claimed', release: async () => void (await redis.del(redisKey).catch(() => 0)) };
  const [jobId = '', storedHash = ''] = ((await redis.get(redisKey)) ?? '').split(' ');
  if (storedHash !== bodyHash) {
    throw new ApiError('This Idempotency-Key was already used with a different request body', {
      status: 409, type: 'invalid_request_error', code: 'idempotency_key_reused', param: 'Idempotency-Key',
    });
  }
  return { kind: 'replay', jobId };
}
