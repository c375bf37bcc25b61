import type { Redis } from 'ioredis';
import { rateKeys } from '../keys.ts';

/**
 * A sliding-window log of requests (for `rpm`) and of token charges (for `tpm`), shared by every
 * process. BullMQ's own limiter counts fixed windows and lets up to ~2× `max` through one sliding
 * window; providers count sliding windows, so this one does too.
 *
 * Returns 0 and records the request when it may go now, else the milliseconds until it may.
 */
const ACQUIRE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local member = ARGV[5]
local estimate = tonumber(ARGV[6])
local wait = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local blocking = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
    wait = math.max(wait, tonumber(blocking[2]) + window - now)
  end
end
if tpm > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if #expired > 0 then
    local freed = 0
    for _, old in ipairs(expired) do
      freed = freed + tonumber(redis.call('HGET', KEYS[3], old) or '0')
      redis.call('HDEL', KEYS[3], old)
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
    redis.call('DECRBY', KEYS[4], freed)
  end
  local used = tonumber(redis.call('GET', KEYS[4]) or '0')
  -- An empty window always admits one request, however large, so a huge job cannot wait forever.
  if used > 0 and used + estimate > tpm then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    if oldest[2] then wait = math.max(wait, tonumber(oldest[2]) + window - now) end
  end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], window)
end
if tpm > 0 then
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('HSET', KEYS[3], member, estimate)
  redis.call('INCRBY', KEYS[4], estimate)
  redis.call('PEXPIRE', KEYS[2], window)
  redis.call('PEXPIRE', KEYS[3], window)
  redis.call('PEXPIRE', KEYS[4], window)
end
return 0
`;

/** Replaces a request's token estimate with its real usage, if it is still in the window. */
const CORRECT = `
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if not previous then return 0 end
local delta = tonumber(ARGV[2]) - tonumber(previous)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCRBY', KEYS[2], delta)
return delta
`;

interface ScriptedRedis {
  sluiceRateAcquire(rpm: string, tpmLog: string, tpmTokens: string, tpmSum: string, ...args: (string | number)[]): Promise<number>;
  sluiceRateCorrect(tpmTokens: string, tpmSum: string, ...args: (string | number)[]): Promise<number>;
}

function withScripts(redis: Redis): ScriptedRedis {
  if (!('sluiceRateAcquire' in redis)) {
    redis.defineCommand('sluiceRateAcquire', { numberOfKeys: 4, lua: ACQUIRE });
    redis.defineCommand('sluiceRateCorrect', { numberOfKeys: 2, lua: CORRECT });
  }
  return redis as unknown as ScriptedRedis;
}

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

export function createRateLimiter(redis: Redis, prefix: string): RateLimiter {
  const scripts = withScripts(redis);
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
