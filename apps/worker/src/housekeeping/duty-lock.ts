import { randomBytes } from 'node:crypto';
import type { Redis } from '@sluice/shared';
import { defineScripts, lockKey } from '@sluice/engine';

/**
 * Takes a named duty for `ttlMs` when no process holds it; the lock lapses by itself if its holder
 * dies, and `release` gives it up early once the duty is done (only while this process holds it).
 */
export type DutyLock = ((name: string, ttlMs: number) => Promise<boolean>) & { release(name: string): Promise<void> };

/** One process at a time does each periodic duty, across every worker process. */
export function createDutyLock(redis: Redis, prefix: string): DutyLock {
  const scripts = defineScripts(redis);
  const held = new Map<string, string>();
  const take = async (name: string, ttlMs: number): Promise<boolean> => {
    const token = `${process.pid}:${randomBytes(6).toString('hex')}`;
    const taken = (await redis.set(lockKey(prefix, name), token, 'PX', ttlMs, 'NX')) === 'OK';
    if (taken) held.set(name, token);
    return taken;
  };
  return Object.assign(take, {
    async release(name: string): Promise<void> {
      const token = held.get(name);
      if (token === undefined) return;
      held.delete(name);
      await scripts.sluiceLockRelease(lockKey(prefix, name), token);
    },
  });
}
