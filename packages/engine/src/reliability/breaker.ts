import type { Redis } from 'ioredis';
import type { GatewayConfig } from '@sluice/shared';
import { multiKey } from '@sluice/shared';
import { breakerKeys } from '../keys.ts';
import { defineScripts } from '../scripts.ts';

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
  const scripts = defineScripts(redis);
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
