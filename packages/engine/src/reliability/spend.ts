import type { Redis } from 'ioredis';
import { spendKey } from '../keys.ts';
import { defineScripts } from '../scripts.ts';

export const SPEND_TTL_SECONDS = 62 * 86_400;

export interface SpendLedger {
  /** Reserves `amountUsd` for the month of `at`; false (nothing reserved) when it would pass `budgetUsd`. */
  reserve(tenant: string, at: number, amountUsd: number, budgetUsd: number | undefined): Promise<{ ok: boolean; spentUsd: number }>;
  /** Moves the month's spend by `deltaUsd` (real cost minus the reservation, or minus the reservation alone). */
  adjust(tenant: string, at: number, deltaUsd: number): Promise<void>;
  spent(tenant: string, at: number): Promise<number>;
}

/** Per-tenant monthly spend in USD, reserved at submit and settled with the real cost when a job ends. */
export function createSpendLedger(redis: Redis, prefix: string): SpendLedger {
  const scripts = defineScripts(redis);
  const key = (tenant: string, at: number): string => spendKey(prefix, tenant, at);
  const ttlSeconds = SPEND_TTL_SECONDS;
  return {
    async reserve(tenant, at, amountUsd, budgetUsd) {
      const [ok, spent] = await scripts.sluiceSpendReserve(key(tenant, at), amountUsd, budgetUsd ?? -1, ttlSeconds);
      return { ok: ok === 1, spentUsd: Number(spent) };
    },
    async adjust(tenant, at, deltaUsd) {
      if (deltaUsd === 0) return;
      await scripts.sluiceSpendAdjust(key(tenant, at), deltaUsd, ttlSeconds);
    },
    async spent(tenant, at) {
      return Number((await redis.get(key(tenant, at))) ?? 0);
    },
  };
}
