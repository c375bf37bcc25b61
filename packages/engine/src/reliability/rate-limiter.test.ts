import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { createRateLimiter } from './rate-limiter.ts';

describe('sliding-window rate limiter', () => {
  let redis: Redis;
  const prefix = `t${Date.now().toString(36)}rate`;
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('rpm: admits exactly rpm requests per window, then says how long to wait', async () => {
    const limiter = createRateLimiter(redis, prefix);
    // A window long enough that the usage is read inside it on a loaded machine.
    const limits = { rpm: 5, windowMs: 1_000 };
    const waits = await Promise.all(Array.from({ length: 8 }, (_, index) => limiter.acquire('r', limits, `m${index}`, 0)));
    expect(waits.filter((wait) => wait === 0)).toHaveLength(5);
    for (const wait of waits.filter((value) => value > 0)) {
      expect(wait).toBeGreaterThan(750);
      expect(wait).toBeLessThanOrEqual(1_000);
    }
    expect(await limiter.usage('r', limits)).toMatchObject({ requests: 5 });
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect(await limiter.acquire('r', limits, 'later', 0)).toBe(0);
  });

  it('tpm: charges the estimate, corrects it with real usage, and always admits one request into an empty window', async () => {
    const limiter = createRateLimiter(redis, prefix);
    const limits = { tpm: 1000, windowMs: 60_000 };
    expect(await limiter.acquire('t', limits, 'a', 600)).toBe(0);
    expect(await limiter.acquire('t', limits, 'b', 600)).toBeGreaterThan(0); // 1200 > 1000
    await limiter.correct('t', 'a', 100); // it used 100, not 600
    expect(await limiter.usage('t', limits)).toMatchObject({ tokens: 100 });
    expect(await limiter.acquire('t', limits, 'b', 600)).toBe(0);
    expect(await limiter.usage('t', limits)).toMatchObject({ tokens: 700 });
    expect(await limiter.acquire('huge', limits, 'h', 5000)).toBe(0); // bigger than tpm, but alone in its window
  });
});
