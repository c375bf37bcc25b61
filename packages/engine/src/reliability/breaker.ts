import type { Redis } from 'ioredis';
import type { GatewayConfig } from '@sluice/shared';
import { multiKey } from '@sluice/shared';
import { breakerKeys } from '../keys.ts';

export type CircuitState = 'closed' | 'open' | 'half_open';

/** Numeric circuit state for metrics: 0 closed, 1 half-open, 2 open. */
export const CIRCUIT_STATE_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export interface CircuitSnapshot {
  state: CircuitState;
  /** Why it opened (`failure_ratio`, `auth_error`); null when closed. */
  reason: string | null;
  opened_at: number | null;
  /** The current cooldown, doubled after each failed probe up to `max_cooldown_s`. */
  cooldown_s: number;
  /** Unix ms of the next health probe; null when closed. */
  next_probe_at: number | null;
  window: { requests: number; failures: number; error_ratio: number };
  latency_ms: { p50: number | null; p95: number | null };
}

export type BreakerSettings = GatewayConfig['breaker'];

/**
 * Records one provider call's outcome in the sliding window and opens the circuit when, in the last
 * `window_s`, at least `min_requests` finished and `failure_ratio` of them failed. Returns 1 when this
 * call opened it, so exactly one process runs the pause-and-move.
 */
const RECORD = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[3])
if ARGV[4] == '0' then redis.call('ZADD', KEYS[3], now, ARGV[3]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window * 2)
redis.call('PEXPIRE', KEYS[3], window * 2)
if tonumber(ARGV[8]) >= 0 then
  redis.call('LPUSH', KEYS[4], ARGV[8])
  redis.call('LTRIM', KEYS[4], 0, 199)
end
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'closed' then return 0 end
if ARGV[4] ~= '0' then return 0 end
local total = redis.call('ZCARD', KEYS[2])
local failures = redis.call('ZCARD', KEYS[3])
if total < tonumber(ARGV[5]) or failures < total * tonumber(ARGV[6]) then return 0 end
local cooldown = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'state', 'open', 'reason', 'failure_ratio', 'opened_at', now, 'cooldown_ms', cooldown, 'probe_at', now + cooldown)
return 1
`;

/** Opens the circuit at once (a 401/403 means the provider is misconfigured). Returns 1 when it was closed. */
const FORCE_OPEN = `
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'closed' then return 0 end
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'open', 'reason', ARGV[2], 'opened_at', now, 'cooldown_ms', ARGV[3], 'probe_at', now + tonumber(ARGV[3]))
return 1
`;

/** Claims the health probe of an open circuit whose cooldown is over (or whose prober vanished). */
const BEGIN_PROBE = `
local fields = redis.call('HMGET', KEYS[1], 'state', 'probe_at')
local now = tonumber(ARGV[1])
if fields[1] == 'open' and now >= tonumber(fields[2]) then
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_at', now + tonumber(ARGV[2]))
  return 1
end
if fields[1] == 'half_open' and now >= tonumber(fields[2]) then
  redis.call('HSET', KEYS[1], 'probe_at', now + tonumber(ARGV[2]))
  return 1
end
return 0
`;

/** Ends a probe: success closes the circuit with a fresh window; failure re-opens it with the cooldown doubled (capped). */
const END_PROBE = `
if redis.call('HGET', KEYS[1], 'state') ~= 'half_open' then return 0 end
local now = tonumber(ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 1
end
local cooldown = math.min(tonumber(redis.call('HGET', KEYS[1], 'cooldown_ms')) * 2, tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'state', 'open', 'cooldown_ms', cooldown, 'probe_at', now + cooldown)
return 1
`;

interface ScriptedRedis {
  sluiceBreakerRecord(state: string, all: string, failed: string, latency: string, ...args: (string | number)[]): Promise<number>;
  sluiceBreakerForceOpen(state: string, ...args: (string | number)[]): Promise<number>;
  sluiceBreakerBeginProbe(state: string, ...args: (string | number)[]): Promise<number>;
  sluiceBreakerEndProbe(state: string, all: string, failed: string, ...args: (string | number)[]): Promise<number>;
}

function withScripts(redis: Redis): ScriptedRedis {
  if (!('sluiceBreakerRecord' in redis)) {
    redis.defineCommand('sluiceBreakerRecord', { numberOfKeys: 4, lua: RECORD });
    redis.defineCommand('sluiceBreakerForceOpen', { numberOfKeys: 1, lua: FORCE_OPEN });
    redis.defineCommand('sluiceBreakerBeginProbe', { numberOfKeys: 1, lua: BEGIN_PROBE });
    redis.defineCommand('sluiceBreakerEndProbe', { numberOfKeys: 3, lua: END_PROBE });
  }
  return redis as unknown as ScriptedRedis;
}

export interface Breaker {
  /** Records a finished provider call; resolves true when this outcome opened the circuit. */
  record(provider: string, ok: boolean, latencyMs: number | null): Promise<boolean>;
  /** Opens the circuit now; true when it was closed. */
  forceOpen(provider: string, reason: string): Promise<boolean>;
  state(provider: string): Promise<CircuitState>;
  /** States of many providers in one round trip. */
  states(providers: readonly string[]): Promise<Map<string, CircuitState>>;
  /** Claims the probe when the cooldown is over; only one process wins. */
  beginProbe(provider: string, probeTimeoutMs: number): Promise<boolean>;
  /** Ends a claimed probe; true when the state changed. */
  endProbe(provider: string, healthy: boolean): Promise<boolean>;
  snapshot(provider: string): Promise<CircuitSnapshot>;
}

/**
 * The circuit breaker's shared state in Redis: one hash per provider plus two sliding-window sets
 * (all outcomes, failures) and a list of recent latencies. Every key of one provider carries the same
 * hash tag, so each script touches one Redis Cluster slot.
 */
export function createBreaker(redis: Redis, prefix: string, settings: BreakerSettings): Breaker {
  const scripts = withScripts(redis);
  const keys = (provider: string) => breakerKeys(prefix, provider);
  const windowMs = settings.window_s * 1000;
  let sequence = 0;

  const readState = (value: string | null | undefined): CircuitState =>
    value === 'open' || value === 'half_open' ? value : 'closed';

  return {
    async record(provider, ok, latencyMs) {
      const k = keys(provider);
      sequence = (sequence + 1) % 1_000_000;
      const member = `${Date.now()}:${process.pid}:${sequence}:${Math.random().toString(36).slice(2, 8)}`;
      const opened = await scripts.sluiceBreakerRecord(
        k.state, k.all, k.failed, k.latency,
        Date.now(), windowMs, member, ok ? 1 : 0, settings.min_requests, settings.failure_ratio, settings.cooldown_s * 1000, latencyMs ?? -1,
      );
      return opened === 1;
    },

    async forceOpen(provider, reason) {
      return (await scripts.sluiceBreakerForceOpen(keys(provider).state, Date.now(), reason, settings.cooldown_s * 1000)) === 1;
    },

    async state(provider) {
      return readState(await redis.hget(keys(provider).state, 'state'));
    },

    async states(providers) {
      const result = new Map<string, CircuitState>();
      if (providers.length === 0) return result;
      const pipeline = multiKey(redis);
      for (const provider of providers) pipeline.hget(keys(provider).state, 'state');
      const rows = (await pipeline.exec()) ?? [];
      providers.forEach((provider, index) => result.set(provider, readState(rows[index]?.[1] as string | null)));
      return result;
    },

    async beginProbe(provider, probeTimeoutMs) {
      return (await scripts.sluiceBreakerBeginProbe(keys(provider).state, Date.now(), probeTimeoutMs)) === 1;
    },

    async endProbe(provider, healthy) {
      const k = keys(provider);
      return (await scripts.sluiceBreakerEndProbe(k.state, k.all, k.failed, Date.now(), healthy ? 1 : 0, settings.max_cooldown_s * 1000)) === 1;
    },

    async snapshot(provider) {
      const k = keys(provider);
      const now = Date.now();
      const [[, hash], [, requests], [, failures], [, latencies]] = (await redis
        .pipeline()
        .hgetall(k.state)
        .zcount(k.all, now - windowMs, '+inf')
        .zcount(k.failed, now - windowMs, '+inf')
        .lrange(k.latency, 0, -1)
        .exec()) as [unknown, unknown][] as [[null, Record<string, string>], [null, number], [null, number], [null, string[]]];
      const state = readState(hash.state);
      const sorted = latencies.map(Number).sort((a, b) => a - b);
      const quantile = (q: number): number | null => (sorted.length === 0 ? null : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? null));
      return {
        state,
        reason: state === 'closed' ? null : (hash.reason ?? null),
        opened_at: state === 'closed' || hash.opened_at === undefined ? null : Math.floor(Number(hash.opened_at) / 1000),
        cooldown_s: state === 'closed' ? settings.cooldown_s : Number(hash.cooldown_ms ?? settings.cooldown_s * 1000) / 1000,
        next_probe_at: state === 'closed' || hash.probe_at === undefined ? null : Number(hash.probe_at),
        window: { requests, failures, error_ratio: requests === 0 ? 0 : failures / requests },
        latency_ms: { p50: quantile(0.5), p95: quantile(0.95) },
      };
    },
  };
}
