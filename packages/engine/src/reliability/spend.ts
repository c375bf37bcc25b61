import type { Redis } from 'ioredis';
import { spendKey } from '../keys.ts';

/**
 * Reserves an estimate against a monthly budget in one step: no two API processes can both pass the
 * check with the last dollar. Returns {1, spent} when reserved, {0, spent} when over budget.
 */
const RESERVE = `
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local amount = tonumber(ARGV[1])
local budget = tonumber(ARGV[2])
if budget >= 0 and spent + amount > budget then return {0, tostring(spent)} end
local total = redis.call('INCRBYFLOAT', KEYS[1], amount)
redis.call('EXPIRE', KEYS[1], ARGV[3])
return {1, total}
`;

/** Lua that moves a month's spend by a delta (Lua expressions: key, delta, TTL); shared with lifecycle/succeed.ts. */
export const spendAdjustLua = (key: string, delta: string, ttl: string): string => `
if tonumber(${delta}) ~= 0 then
  redis.call('INCRBYFLOAT', ${key}, ${delta})
  redis.call('EXPIRE', ${key}, ${ttl})
end
`;

const ADJUST = `${spendAdjustLua('KEYS[1]', 'ARGV[1]', 'ARGV[2]')}
return 1
`;

interface ScriptedRedis {
  sluiceSpendReserve(key: string, amount: number, budget: number, ttlSeconds: number): Promise<[number, string]>;
  sluiceSpendAdjust(key: string, amount: number, ttlSeconds: number): Promise<number>;
}

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
  if (!('sluiceSpendReserve' in redis)) {
    redis.defineCommand('sluiceSpendReserve', { numberOfKeys: 1, lua: RESERVE });
    redis.defineCommand('sluiceSpendAdjust', { numberOfKeys: 1, lua: ADJUST });
  }
  const scripts = redis as unknown as ScriptedRedis;
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
