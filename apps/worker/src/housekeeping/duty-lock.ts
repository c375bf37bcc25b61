import type { Redis } from '@sluice/shared';
import { lockKey } from '@sluice/engine';

/**
 * Takes a named duty for `ttlMs` when no process holds it; the lock lapses by itself if its holder
 * dies, and `release` gives it up early once the duty is done.
 */
export type DutyLock = ((name: string, ttlMs: number) => Promise<boolean>) & { release(name: string): Promise<void> };

/** One process at a time does each periodic duty, across every worker process. */
export function createDutyLock(redis: Redis, prefix: string): DutyLock {
  const take = async (name: string, ttlMs: number): Promise<boolean> => (await redis.set(lockKey(prefix, name), String(process.pid), 'PX', ttlMs, 'NX')) === 'OK';
  return Object.assign(take, {
    async release(name: string): Promise<void> {
      await redis.del(lockKey(prefix, name));
    },
  });
}
