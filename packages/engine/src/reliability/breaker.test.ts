import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { createBreaker } from './breaker.ts';

describe('circuit breaker state in Redis', () => {
  let redis: Redis;
  const prefix = `t${Date.now().toString(36)}breaker`;
  const settings = { window_s: 30, min_requests: 4, failure_ratio: 0.5, cooldown_s: 0.05, max_cooldown_s: 0.15 };
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('opens only with min_requests in the window and failure_ratio of them failed; exactly one caller sees it open', async () => {
    const breaker = createBreaker(redis, prefix, settings);
    expect(await breaker.record('x', false, 10)).toBe(false);
    expect(await breaker.record('x', true, 20)).toBe(false);
    expect(await breaker.record('x', true, 30)).toBe(false); // 1 of 3 failed, under min_requests
    expect(await breaker.state('x')).toBe('closed');
    const opened = await Promise.all([breaker.record('x', false, 40), breaker.record('x', false, 50)]);
    expect(opened.filter(Boolean)).toHaveLength(1);
    const snapshot = await breaker.snapshot('x');
    expect(snapshot).toMatchObject({ state: 'open', reason: 'failure_ratio', window: { requests: 5, failures: 3 } });
    expect(snapshot.window.error_ratio).toBeCloseTo(0.6);
    expect(snapshot.latency_ms.p50).toBe(30);
  });

  it('outcomes of one turn are written together: the window counts them all and one caller, a failing one, sees the circuit open', async () => {
    const breaker = createBreaker(redis, prefix, settings);
    const outcomes = [true, false, true, false, false, true, false, true];
    const opened = await Promise.all(outcomes.map((ok, index) => breaker.record('w', ok, 10 + index)));
    expect(opened.filter(Boolean)).toHaveLength(1);
    expect(outcomes[opened.indexOf(true)]).toBe(false);
    expect(await breaker.snapshot('w')).toMatchObject({ state: 'open', window: { requests: 8, failures: 4 }, latency_ms: { p50: 14 } });
  });

  it('probes after the cooldown; a failed probe doubles the cooldown up to the cap; a good one closes with a fresh window', async () => {
    const breaker = createBreaker(redis, prefix, settings);
    expect(await breaker.forceOpen('y', 'auth_error')).toBe(true);
    expect(await breaker.forceOpen('y', 'auth_error')).toBe(false);
    expect(await breaker.beginProbe('y', 1000)).toBe(false); // cooldown not over
    const cooldowns: number[] = [];
    for (let round = 0; round < 3; round += 1) {
      const waitMs = (await breaker.snapshot('y')).cooldown_s * 1000 + 5;
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      expect(await breaker.beginProbe('y', 1000)).toBe(true);
      expect(await breaker.beginProbe('y', 1000)).toBe(false); // one prober at a time
      expect(await breaker.state('y')).toBe('half_open');
      await breaker.endProbe('y', false);
      cooldowns.push((await breaker.snapshot('y')).cooldown_s);
    }
    expect(cooldowns).toEqual([0.1, 0.15, 0.15]);
    await new Promise((resolve) => setTimeout(resolve, 160));
    expect(await breaker.beginProbe('y', 1000)).toBe(true);
    await breaker.endProbe('y', true);
    expect(await breaker.snapshot('y')).toMatchObject({ state: 'closed', reason: null, window: { requests: 0, failures: 0 } });
    expect((await breaker.states(['x', 'y', 'z'])).get('y')).toBe('closed');
  });
});
