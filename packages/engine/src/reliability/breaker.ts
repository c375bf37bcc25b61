import type { Redis } from 'ioredis';
import type { GatewayConfig } from '@sluice/shared';
import { multiKey, TurnBatches } from '@sluice/shared';
import { breakerKeys, type BreakerKeys } from '../keys.ts';
import { defineScripts, type Scripts } from '../scripts.ts';

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
  return new RedisBreaker(redis, prefix, settings);
}

/** A call's outcome, waiting for its turn's write. */
interface Outcome {
  at: number;
  member: string;
  ok: boolean;
  latencyMs: number | null;
}

/** What `snapshot` reads of one provider in one round trip. */
interface CircuitReading {
  hash: Record<string, string>;
  requests: number;
  failures: number;
  latencies: string[];
}

class RedisBreaker implements Breaker {
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;
  private readonly settings: BreakerSettings;
  private readonly windowMs: number;
  /** Makes each outcome's window member unique within this process. */
  private sequence = 0;

  constructor(redis: Redis, prefix: string, settings: BreakerSettings) {
    this.redis = redis;
    this.scripts = defineScripts(redis);
    this.prefix = prefix;
    this.settings = settings;
    this.windowMs = settings.window_s * 1000;
  }

  /**
   * Outcomes of one event-loop turn go to Redis together, one script call per provider (under load
   * many calls end in the same turn): the caller waits for that call, as it waited for its own.
   */
  record(provider: string, ok: boolean, latencyMs: number | null): Promise<boolean> {
    return this.outcomes.add(provider, { at: Date.now(), member: this.nextMember(), ok, latencyMs });
  }

  private readonly outcomes = new TurnBatches<string, Outcome, boolean>((provider, batch) => this.write(provider, batch));

  /** Writes a provider's outcomes of one turn; when they open the circuit, its last failure's caller is told (exactly one). */
  private async write(provider: string, batch: Outcome[]): Promise<boolean[]> {
    const k = this.keys(provider);
    const { settings } = this;
    const args: (string | number)[] = [this.windowMs, settings.min_requests, settings.failure_ratio, settings.cooldown_s * 1000];
    for (const outcome of batch) args.push(outcome.at, outcome.member, outcome.ok ? 1 : 0, outcome.latencyMs ?? -1);
    const opened = (await this.scripts.sluiceBreakerRecord(k.state, k.all, k.failed, k.latency, ...args)) === 1;
    const opener = opened ? batch.findLast((outcome) => !outcome.ok) : undefined;
    return batch.map((outcome) => outcome === opener);
  }

  async forceOpen(provider: string, reason: string): Promise<boolean> {
    return (await this.scripts.sluiceBreakerForceOpen(this.keys(provider).state, Date.now(), reason, this.settings.cooldown_s * 1000)) === 1;
  }

  async state(provider: string): Promise<CircuitState> {
    return readState(await this.redis.hget(this.keys(provider).state, 'state'));
  }

  async states(providers: readonly string[]): Promise<Map<string, CircuitState>> {
    const result = new Map<string, CircuitState>();
    if (providers.length === 0) return result;
    const pipeline = multiKey(this.redis);
    for (const provider of providers) pipeline.hget(this.keys(provider).state, 'state');
    const rows = (await pipeline.exec()) ?? [];
    providers.forEach((provider, index) => result.set(provider, readState(rows[index]?.[1] as string | null)));
    return result;
  }

  async beginProbe(provider: string, probeTimeoutMs: number): Promise<boolean> {
    return (await this.scripts.sluiceBreakerBeginProbe(this.keys(provider).state, Date.now(), probeTimeoutMs)) === 1;
  }

  async endProbe(provider: string, healthy: boolean): Promise<boolean> {
    const k = this.keys(provider);
    return (await this.scripts.sluiceBreakerEndProbe(k.state, k.all, k.failed, Date.now(), healthy ? 1 : 0, this.settings.max_cooldown_s * 1000)) === 1;
  }

  async snapshot(provider: string): Promise<CircuitSnapshot> {
    return toSnapshot(await this.read(provider), this.settings);
  }

  private keys(provider: string): BreakerKeys {
    return breakerKeys(this.prefix, provider);
  }

  /** A window member no other outcome has, from this process or another. */
  private nextMember(): string {
    this.sequence = (this.sequence + 1) % 1_000_000;
    return `${Date.now()}:${process.pid}:${this.sequence}:${Math.random().toString(36).slice(2, 8)}`;
  }

  /** The provider's state hash, its window's counts and its recent latencies. */
  private async read(provider: string): Promise<CircuitReading> {
    const k = this.keys(provider);
    const now = Date.now();
    const [[, hash], [, requests], [, failures], [, latencies]] = (await this.redis
      .pipeline()
      .hgetall(k.state)
      .zcount(k.all, now - this.windowMs, '+inf')
      .zcount(k.failed, now - this.windowMs, '+inf')
      .lrange(k.latency, 0, -1)
      .exec()) as [unknown, unknown][] as [[null, Record<string, string>], [null, number], [null, number], [null, string[]]];
    return { hash, requests, failures, latencies };
  }
}

const readState = (value: string | null | undefined): CircuitState =>
  value === 'open' || value === 'half_open' ? value : 'closed';

/** The circuit as an operator sees it; a closed circuit shows no reason, opening time or probe. */
function toSnapshot({ hash, requests, failures, latencies }: CircuitReading, settings: BreakerSettings): CircuitSnapshot {
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
}
