import type { Redis } from 'ioredis';
import { multiKey } from '@sluice/shared';
import { tenantJobKeys } from '../keys.ts';
import { MAX_DEADLINE_S } from '../schemas/job-request.ts';
import { defineScripts, type Scripts } from '../scripts.ts';

/**
 * How long a tenant's sets of jobs live after their last entry was added: longer than any deadline,
 * so a set never outlives the entries it could still count. `TENANT_JOBS_KEEP_MS` in
 * `lua/includes/tenant-jobs.lua`, kept equal by a test.
 */
export const TENANT_JOBS_KEEP_MS = (MAX_DEADLINE_S + 2 * 86_400) * 1000;

/**
 * How long a place taken at admission is held before the job's record is written (which files the
 * job until its deadline): a process that dies in between frees the place within this.
 */
export const ADMISSION_HOLD_S = 60;

/** A tenant's jobs that have not ended, now. */
export interface TenantJobCounts {
  queued: number;
  running: number;
}

/**
 * Each tenant's jobs that have not ended, in Redis: the job store files a job there as it is created
 * and at every status change (in the same script on one server), by its deadline, so an entry whose
 * removal was lost stops counting when the job would have expired. Read for stats, and checked
 * against a key's `max_queued_jobs` when jobs are admitted: in one script, so the cap holds across
 * every API and worker process.
 */
export interface TenantJobs {
  /**
   * Files as many of `ids`, in order, as the tenant has room for under `cap`, each held until
   * `deadline` (unix s) or for ADMISSION_HOLD_S, whichever is sooner, until its record is written.
   * Returns how many were admitted (a prefix of `ids`; an id filed already takes no room) and how
   * many the tenant had before.
   */
  admit(tenant: string, ids: readonly string[], deadline: number, cap: number): Promise<{ admitted: number; active: number }>;
  /** Unfiles admitted ids that did not become jobs. */
  release(tenant: string, ids: readonly string[]): Promise<void>;
  /** Queued and running jobs of each tenant, now, in one round trip. */
  counts(tenants: readonly string[]): Promise<Map<string, TenantJobCounts>>;
  /** A job whose deadline moved later stays counted until the new one. */
  extend(tenant: string, id: string, deadline: number): Promise<void>;
}

export function createTenantJobs(redis: Redis, prefix: string): TenantJobs {
  const scripts: Scripts = defineScripts(redis);
  const nowSeconds = (): number => Math.floor(Date.now() / 1000);
  return {
    async admit(tenant, ids, deadline, cap) {
      if (ids.length === 0) return { admitted: 0, active: 0 };
      const now = nowSeconds();
      const [admitted, active] = await scripts.sluiceTenantJobsAdmit(tenantJobKeys(prefix, tenant).active, now, cap, Math.min(deadline, now + ADMISSION_HOLD_S), ...ids);
      return { admitted, active };
    },
    async release(tenant, ids) {
      if (ids.length > 0) await redis.zrem(tenantJobKeys(prefix, tenant).active, ...ids);
    },
    async counts(tenants) {
      const now = nowSeconds();
      const pipeline = multiKey(redis);
      for (const tenant of tenants) {
        const keys = tenantJobKeys(prefix, tenant);
        pipeline.zcount(keys.active, `(${now}`, '+inf').zcount(keys.running, `(${now}`, '+inf');
      }
      const replies = ((await pipeline.exec()) ?? []).map(([error, count]) => {
        if (error) throw error;
        return Number(count);
      });
      return new Map(tenants.map((tenant, index) => {
        const active = replies[2 * index] ?? 0;
        const running = Math.min(active, replies[2 * index + 1] ?? 0);
        return [tenant, { queued: active - running, running }];
      }));
    },
    async extend(tenant, id, deadline) {
      const keys = tenantJobKeys(prefix, tenant);
      await multiKey(redis).zadd(keys.active, 'XX', deadline, id).zadd(keys.running, 'XX', deadline, id).exec();
    },
  };
}
