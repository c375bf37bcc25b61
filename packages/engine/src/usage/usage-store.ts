import type { Redis } from 'ioredis';
import { multiKey } from '@sluice/shared';
import type { Usage } from '@sluice/shared';
import { usageKey } from '../keys.ts';
import { OTHER_MODEL } from '../metrics/model-labels.ts';
import { defineScripts } from '../scripts.ts';

export type UsageDimension = 'tenant' | 'provider' | 'model';

export interface UsageRow {
  tenant?: string;
  provider?: string;
  model?: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  cost_usd: number;
  /** Succeeded requests whose model has no price (their cost is not in cost_usd). */
  unpriced_requests: number;
  /** USD below the real-time price of the same usage (provider batches, flex). */
  saved_usd: number;
  /** USD billed for provider batch results discarded because their job had already run otherwise. */
  wasted_usd: number;
}

export interface UsageQuery {
  /** Unix seconds, inclusive; hourly resolution. */
  from: number;
  to: number;
  groupBy: readonly UsageDimension[];
  /** Only this tenant's usage (tenant keys); all tenants when undefined (admin). */
  tenant?: string;
}

const HOUR = 3600;
/** `|` never appears in tenant or provider ids; a model name may hold anything, so it goes last. */
const SEPARATOR = '|';

/** Fields an hour's usage hash may reach before models the config does not name are counted as `other` (lua/includes/usage-add.lua counts them). */
export const MAX_USAGE_FIELDS_PER_HOUR = 6_000;

/** A job's field base in its hour's usage hash: its tenant, provider and model. */
export const usageFieldBase = (tenant: string, provider: string, model: string): string => [tenant, provider, model].join(SEPARATOR);
/** The field base a model the config does not name falls back to once the hour's hash is full; '' for a named one. */
export const usageOtherBase = (tenant: string, provider: string, listed: boolean): string => (listed ? '' : usageFieldBase(tenant, provider, OTHER_MODEL));

export interface UsageStore {
  /** Adds one succeeded job to its hour's totals. */
  record(entry: { tenant: string; provider: string; model: string; usage: Usage | null; costUsd: number | null; savedUsd?: number; at: number; listed: boolean }): Promise<void>;
  /** Adds USD billed for a result that was discarded (its job had already run otherwise). */
  wasted(entry: { tenant: string; provider: string; model: string; usd: number; at: number }): Promise<void>;
  query(query: UsageQuery): Promise<UsageRow[]>;
}

/**
 * Usage kept in Redis as jobs finish: one hash per hour, fields `tenant|provider|model|metric`.
 * Reading a range costs one pipelined HGETALL per hour in it.
 */
export function createUsageStore(redis: Redis, prefix: string, retentionSeconds: number): UsageStore {
  const scripts = defineScripts(redis);
  return {
    async wasted({ tenant, provider, model, usd, at }) {
      const key = usageKey(prefix, at);
      await multiKey(redis).hincrbyfloat(key, `${usageFieldBase(tenant, provider, model)}${SEPARATOR}wasted_usd`, usd).expire(key, retentionSeconds).exec();
    },

    async record({ tenant, provider, model, usage, costUsd, savedUsd, at, listed }) {
      // One script, no pipeline: this runs once per finished job.
      await scripts.sluiceUsageRecord(
        usageKey(prefix, at), [tenant, provider, model].join(SEPARATOR), usage?.prompt_tokens ?? 0, usage === null ? -1 : usage.completion_tokens, costUsd ?? -1, retentionSeconds, usageOtherBase(tenant, provider, listed), savedUsd ?? 0,
      );
    },

    async query({ from, to, groupBy, tenant }) {
      const hourKeys: string[] = [];
      for (let at = Math.floor(from / HOUR) * HOUR; at <= to; at += HOUR) hourKeys.push(usageKey(prefix, at));
      const pipeline = multiKey(redis);
      for (const key of hourKeys) pipeline.hgetall(key);
      const results = hourKeys.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      const rows = new Map<string, UsageRow>();
      for (const [, hash] of results) {
        for (const [field, value] of Object.entries((hash ?? {}) as Record<string, string>)) {
          const parts = field.split(SEPARATOR);
          const metric = parts.pop() as keyof UsageRow;
          const [rowTenant = '', provider = '', ...modelParts] = parts;
          if (tenant !== undefined && rowTenant !== tenant) continue;
          const dims = { tenant: rowTenant, provider, model: modelParts.join(SEPARATOR) };
          const groupKey = groupBy.map((dimension) => dims[dimension]).join(SEPARATOR);
          let row = rows.get(groupKey);
          if (row === undefined) {
            row = { requests: 0, prompt_tokens: 0, completion_tokens: 0, total_tokens: 0, cost_usd: 0, unpriced_requests: 0, saved_usd: 0, wasted_usd: 0 };
            for (const dimension of groupBy) row[dimension] = dims[dimension];
            rows.set(groupKey, row);
          }
          (row[metric] as number) += Number(value);
        }
      }
      for (const row of rows.values()) {
        row.total_tokens = row.prompt_tokens + row.completion_tokens;
        row.cost_usd = Math.round(row.cost_usd * 1e12) / 1e12;
        row.saved_usd = Math.round(row.saved_usd * 1e12) / 1e12;
        row.wasted_usd = Math.round(row.wasted_usd * 1e12) / 1e12;
      }
      return [...rows.values()].sort((a, b) => b.cost_usd - a.cost_usd || b.requests - a.requests);
    },
  };
}
