import type { Redis } from 'ioredis';
import { multiKey } from '@sluice/shared';
import { queueWaitKey } from '../keys.ts';
import { defineScripts } from '../scripts.ts';

/** How long a minute's queue waits are kept: the longest window a summary reads, and some. */
export const QUEUE_WAIT_RETENTION_S = 2 * 3600;

/** The longest window (minutes) a queue-wait summary may read. */
export const MAX_QUEUE_WAIT_MINUTES = 60;

/** A tenant's queue waits (submit to a worker's first claim) over the last minutes. */
export interface QueueWaitSummary {
  window_s: number;
  /** Jobs first claimed in the window. */
  count: number;
  /** Null when no job was claimed in the window. */
  mean_ms: number | null;
  max_ms: number | null;
}

interface Totals {
  count: number;
  sumMs: number;
  maxMs: number;
}

/**
 * Each tenant's queue waits: how long its jobs waited from submit until a worker first claimed one.
 * A worker adds them up in memory (`observe`) and writes them every second or so (`flush`) into
 * per-minute hashes in Redis, one script per minute, so the hot path pays no round trip; a summary
 * reads the last minutes of every worker's totals.
 */
export interface QueueWaits {
  observe(tenant: string, waitMs: number, at?: number): void;
  /** Writes what was observed since the last flush; what cannot be written is dropped (these are stats). */
  flush(): Promise<void>;
  /** The tenant's waits over the last `minutes` (1..60), the current minute included. */
  summary(tenant: string, minutes: number): Promise<QueueWaitSummary>;
}

const SEPARATOR = '|';

export function createQueueWaits(redis: Redis, prefix: string): QueueWaits {
  const scripts = defineScripts(redis);
  /** Unflushed totals by minute (unix s of its start), then by tenant. */
  let pending = new Map<number, Map<string, Totals>>();
  return {
    observe(tenant, waitMs, at = Date.now()) {
      const minute = Math.floor(at / 60_000) * 60;
      const tenants = pending.get(minute) ?? new Map<string, Totals>();
      pending.set(minute, tenants);
      const totals = tenants.get(tenant) ?? { count: 0, sumMs: 0, maxMs: 0 };
      const ms = Math.max(0, Math.round(waitMs));
      tenants.set(tenant, { count: totals.count + 1, sumMs: totals.sumMs + ms, maxMs: Math.max(totals.maxMs, ms) });
    },
    async flush() {
      const flushing = pending;
      pending = new Map();
      await Promise.all(
        [...flushing].map(([minute, tenants]) =>
          scripts.sluiceQueueWaitAdd(queueWaitKey(prefix, minute), QUEUE_WAIT_RETENTION_S, ...[...tenants].flatMap(([tenant, totals]) => [tenant, totals.count, totals.sumMs, totals.maxMs])),
        ),
      );
    },
    async summary(tenant, minutes) {
      const now = Math.floor(Date.now() / 1000);
      const pipeline = multiKey(redis);
      for (let back = 0; back < minutes; back += 1) pipeline.hmget(queueWaitKey(prefix, now - back * 60), ...['count', 'sum_ms', 'max_ms'].map((field) => `${tenant}${SEPARATOR}${field}`));
      const totals: Totals = { count: 0, sumMs: 0, maxMs: 0 };
      for (const [error, fields] of (await pipeline.exec()) ?? []) {
        if (error) throw error;
        const [count, sum, max] = (fields as (string | null)[]).map((value) => Number(value ?? 0));
        totals.count += count ?? 0;
        totals.sumMs += sum ?? 0;
        totals.maxMs = Math.max(totals.maxMs, max ?? 0);
      }
      const any = totals.count > 0;
      return { window_s: minutes * 60, count: totals.count, mean_ms: any ? Math.round(totals.sumMs / totals.count) : null, max_ms: any ? totals.maxMs : null };
    },
  };
}
