import type { Redis } from '@sluice/shared';
import { lockKey } from '@sluice/engine';

/** Takes a named duty for `ttlMs` when no process holds it; the lock lapses by itself if its holder dies. */
export type DutyLock = (name: string, ttlMs: number) => Promise<boolean>;

/** One process at a time does each periodic duty, across every worker process. */
export function createDutyLock(redis: Redis, prefix: string): DutyLock {
  return async (name, ttlMs) => (await redis.set(lockKey(prefix, name), String(process.pid), 'PX', ttlMs, 'NX')) === 'OK';
}
