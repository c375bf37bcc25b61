import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { newJobId } from '../jobs/ids.ts';
import { createJobStore, type JobStore } from '../jobs/job-store.ts';
import type { JobRecord } from '../jobs/job-types.ts';
import { tenantJobKeys } from '../keys.ts';
import { ADMISSION_HOLD_S, createTenantJobs, TENANT_JOBS_KEEP_MS, type TenantJobs } from './tenant-jobs.ts';

const inAnHour = (): number => Math.floor(Date.now() / 1000) + 3600;

const record = (tenant: string, status: JobRecord['status'] = 'queued'): JobRecord => ({
  id: newJobId(), tenant, status, model: 'default', priority: 'normal', tier: 'standard',
  created_at: 1, started_at: null, completed_at: null, expires_at: inAnHour(),
  request: { messages: [{ role: 'user', content: 'hi' }], params: {} },
  routing: { route: 'default', strategy: 'ordered', tier: 'standard', candidates: [], failovers: [] },
  target: 0, queue_job_id: 'x.0', tries: 0, exhausted: [], refused: [], replayed_calls: 0, reserved_usd: 0, running_since: null,
  provider: null, provider_model: null, result: null, error: null, usage: null, cost_usd: null, cost_details: null, execution: null,
  attempts: [], webhook: null, webhook_status: null, deliveries: [], custom_id: null, batch_id: null, metadata: {}, cache: null, cache_entry: null, stream: null, response: null, trace: null,
});

describe("tenants' jobs that have not ended", () => {
  let redis: Redis;
  let other: Redis;
  let store: JobStore;
  let tenants: TenantJobs;
  const prefix = `t${Date.now().toString(36)}tenants`;
  const count = async (tenant: string) => (await tenants.counts([tenant])).get(tenant);
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    other = new Redis(inject('redisUrl'));
    store = createJobStore(redis, { prefix, retentionSeconds: 60 });
    tenants = createTenantJobs(redis, prefix);
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
    other.disconnect();
  });

  it('follow every status change of the job store: queued, running, back to queued, ended, replayed', async () => {
    const job = record('t1');
    await store.create(job);
    expect(await count('t1')).toEqual({ queued: 1, running: 0 });
    await store.transition(job, ['queued'], 'running');
    expect(await count('t1')).toEqual({ queued: 0, running: 1 });
    await store.transition(job, ['running'], 'queued');
    expect(await count('t1')).toEqual({ queued: 1, running: 0 });
    // A refused transition files nothing.
    await store.transition(job, ['running'], 'succeeded');
    expect(await count('t1')).toEqual({ queued: 1, running: 0 });
    await store.transition(job, ['queued'], 'running');
    await store.transition(job, ['running'], 'failed');
    expect(await count('t1')).toEqual({ queued: 0, running: 0 });
    // A dead letter replayed runs again until its new deadline.
    const later = inAnHour() + 600;
    await store.transition(job, ['failed'], 'queued', { expires_at: later });
    expect(await count('t1')).toEqual({ queued: 1, running: 0 });
    expect(Number(await redis.zscore(tenantJobKeys(prefix, 't1').active, job.id))).toBe(later);
    await store.remove(job.id, 't1');
    expect(await count('t1')).toEqual({ queued: 0, running: 0 });
    // A job answered from the response cache never waits: it is not counted.
    await store.create(record('t1', 'succeeded'));
    // Nor are another tenant's, nor many at once (a batch's children), which are.
    await store.createMany([record('t2'), record('t2'), record('t1')]);
    expect(await tenants.counts(['t1', 't2', 'nobody'])).toEqual(new Map([['t1', { queued: 1, running: 0 }], ['t2', { queued: 2, running: 0 }], ['nobody', { queued: 0, running: 0 }]]));
    expect(await redis.pttl(tenantJobKeys(prefix, 't2').active)).toBeGreaterThan(TENANT_JOBS_KEEP_MS - 60_000);
  });

  it('admit exactly up to the cap when many processes admit at once, and room comes back as jobs end', async () => {
    const others = createTenantJobs(other, prefix);
    const ids = Array.from({ length: 40 }, () => newJobId());
    const replies = await Promise.all(ids.map((id, index) => (index % 2 === 0 ? tenants : others).admit('t3', [id], inAnHour(), 7)));
    expect(replies.filter((reply) => reply.admitted === 1)).toHaveLength(7);
    expect(await count('t3')).toEqual({ queued: 7, running: 0 });
    // Admitting an id filed already takes no room.
    const filed = ids[replies.findIndex((reply) => reply.admitted === 1)]!;
    expect(await tenants.admit('t3', [filed], inAnHour(), 7)).toEqual({ admitted: 1, active: 7 });
    await tenants.release('t3', [filed]);
    // Many at once: a prefix of them, as far as the room goes.
    expect(await tenants.admit('t3', [newJobId(), newJobId(), newJobId()], inAnHour(), 8)).toEqual({ admitted: 2, active: 6 });
    expect(await tenants.admit('t3', [newJobId()], inAnHour(), 8)).toEqual({ admitted: 0, active: 8 });
  });

  it('hold a place taken at admission for a minute until the job is written, which files it until its deadline', async () => {
    const { active } = tenantJobKeys(prefix, 't5');
    const job = record('t5');
    expect(await tenants.admit('t5', [job.id], job.expires_at, 1)).toEqual({ admitted: 1, active: 0 });
    expect(Number(await redis.zscore(active, job.id)) - Math.floor(Date.now() / 1000)).toBeLessThanOrEqual(ADMISSION_HOLD_S);
    await store.create(job);
    expect(Number(await redis.zscore(active, job.id))).toBe(job.expires_at);
  });

  it('stop counting an entry at its deadline, so a removal that was lost heals', async () => {
    const { active } = tenantJobKeys(prefix, 't4');
    await redis.zadd(active, Math.floor(Date.now() / 1000) - 1, 'job_lost');
    expect(await count('t4')).toEqual({ queued: 0, running: 0 });
    expect(await tenants.admit('t4', ['job_new'], inAnHour(), 1)).toEqual({ admitted: 1, active: 0 });
    expect(await redis.zrange(active, 0, -1)).toEqual(['job_new']);
    // A deadline moved later keeps the job counted until then.
    await tenants.extend('t4', 'job_new', inAnHour() + 60);
    expect(Number(await redis.zscore(active, 'job_new'))).toBe(inAnHour() + 60);
    await tenants.extend('t4', 'job_gone', inAnHour());
    expect(await redis.zscore(active, 'job_gone')).toBeNull();
  });
});
