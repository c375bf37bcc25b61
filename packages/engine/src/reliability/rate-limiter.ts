import type { Redis } from 'ioredis';
import { rateKeys } from '../keys.ts';
import { defineScripts } from '../scripts.ts';

export interface RateLimits {
  rpm?: number | undefined;
  tpm?: number | undefined;
  /** The window both are counted over, ms. Default 60000. */
  windowMs: number;
}

export interface RateUsage {
  requests: number;
  tokens: number;
}

export interface RateLimiter {
  /** 0 when the request may go now (and it is counted), else ms to wait. `member` must be unique per request. */
  acquire(key: string, limits: RateLimits, member: string, estimatedTokens: number): Promise<number>;
  /** Settles a request's token charge with its real usage. */
  correct(key: string, member: string, actualTokens: number): Promise<void>;
  /** What the current window holds. */
  usage(key: string, limits: RateLimits): Promise<RateUsage>;
}

/**
 * Rate limits shared by every process, counted over sliding windows as providers count them
 * (BullMQ's own limiter counts fixed windows and lets up to ~2× `max` through one sliding window).
 */
export function createRateLimiter(redis: Redis, prefix: string): RateLimiter {
  const scripts = defineScripts(redis);
  const keys = (key: string) => rateKeys(prefix, key);
  return {
    async acquire(key, limits, member, estimatedTokens) {
      if (!limits.rpm && !limits.tpm) return 0;
      const k = keys(key);
      return scripts.sluiceRateAcquire(
        k.requests, k.tokenLog, k.tokens, k.sum,
        Date.now(), limits.windowMs, limits.rpm ?? 0, limits.tpm ?? 0, member, Math.max(0, Math.round(estimatedTokens)),
      );
    },
    async correct(key, member, actualTokens) {
      const k = keys(key);
      await scripts.sluiceRateCorrect(k.tokens, k.sum, member, Math.max(0, Math.round(actualTokens)));
    },
    async usage(key, limits) {
      const k = keys(key);
      const [[, requests], [, sum]] = (await redis
        .pipeline()
        .zcount(k.requests, Date.now() - limits.windowMs, '+inf')
        .get(k.sum)
        .exec()) as [[null, number], [null, string | null]];
      return { requests, tokens: Number(sum ?? 0) };
    },
  };
}
