import type { Redis } from 'ioredis';
import { isCluster, multiKey } from '@sluice/shared';
import { collectPage } from '../indexes/paging.ts';
import { MAX_DEADLINE_S } from '../schemas/job-request.ts';
import { isTerminal, type Attempt, type JobRecord, type JobStatus, type WebhookDelivery } from './job-types.ts';
import { deadlineIndexKey, jobEventsChannel, jobRecordKey, jobStreamKey, requeuingKey, tenantJobKeys, tenantJobsKey } from '../keys.ts';
import { defineScripts, type Scripts } from '../scripts.ts';
import { newRecordFields, parseRecord, serializeJobFields, type JobFields } from './job-codec.ts';
import { TENANT_JOBS_KEEP_MS } from '../tenants/tenant-jobs.ts';

export { parseJobSnapshot, serializeJobFields, type JobFields } from './job-codec.ts';

export interface ListOptions {
  status?: JobStatus;
  /** Page size, 1..100. */
  limit: number;
  /** Job id cursor: return jobs older than this one. */
  after?: string;
}

export interface JobPage {
  data: JobRecord[];
  has_more: boolean;
}

/** The job a transition moves: its id, and what files it under its tenant's jobs. */
export type JobRef = Pick<JobRecord, 'id' | 'tenant' | 'expires_at'>;

export interface TransitionResult {
  ok: boolean;
  /** The status before the call; null when the job does not exist. */
  previous: JobStatus | null;
}

export interface JobStore {
  create(record: JobRecord): Promise<void>;
  /** Writes many records in one round trip (batch children). */
  createMany(records: readonly JobRecord[]): Promise<void>;
  get(id: string): Promise<JobRecord | null>;
  /** Only the statuses of many jobs, in one round trip (null: no such job). */
  statuses(ids: readonly string[]): Promise<(JobStatus | null)[]>;
  /** The job only if it belongs to `tenant`: another tenant's id reads as absent. */
  getForTenant(id: string, tenant: string): Promise<JobRecord | null>;
  /**
   * Sets the status only when it is one of `from` (and, given `queueJobId`, only while that BullMQ
   * job is still the record's live one), writing `fields` in the same step, and files the job under
   * its tenant's queued and running jobs (`TenantJobs`) by the status it took.
   */
  transition(job: JobRef, from: readonly JobStatus[], to: JobStatus, fields?: JobFields, queueJobId?: string): Promise<TransitionResult>;
  /** Writes fields of an existing record (nothing when it has expired). */
  update(id: string, fields: JobFields): Promise<void>;
  /** Keeps the record at least until `expiresAt` (unix seconds) plus the retention: a replay's fresh deadline. */
  keepUntil(id: string, expiresAt: number): Promise<void>;
  appendAttempt(id: string, attempt: Attempt): Promise<void>;
  appendDelivery(id: string, delivery: WebhookDelivery): Promise<void>;
  list(tenant: string, options: ListOptions): Promise<JobPage>;
  remove(id: string, tenant: string): Promise<void>;
  /** Ids whose `expires_at` has passed, oldest first. */
  dueForExpiry(nowSeconds: number, limit: number): Promise<string[]>;
  /** (Re)schedules a job's deadline check, e.g. when a dead letter is replayed with a new deadline. */
  scheduleExpiry(id: string, expiresAt: number): Promise<void>;
  /**
   * Forgets ids in the expiry index (they ended, or were just expired). With `dueBy` (seconds), only
   * those whose indexed deadline is still at or before it: one given a later deadline meanwhile stays.
   */
  clearExpiry(ids: readonly string[], dueBy?: number): Promise<void>;
  /** Writes a charge on an ended job, once: only while its status is in `allowed` and it has no usage yet; true when written. */
  charge(id: string, allowed: readonly JobStatus[], fields: JobFields): Promise<boolean>;
  /** Notes that a job is being given a new queue entry, until `requeued` says it was written. */
  requeuing(id: string): Promise<void>;
  requeued(id: string): Promise<void>;
  /** Jobs noted as being requeued before `beforeMs` and not done since (the entry write failed, or the writer died). */
  stuckRequeues(beforeMs: number, limit: number): Promise<string[]>;
}

export interface JobStoreOptions {
  /** Key prefix, e.g. `sluice`. */
  prefix: string;
  /** Seconds a job record is kept after its deadline (`jobs.retention_s`). */
  retentionSeconds: number;
  /** The connection new records are written on (the queues' one, so a record and its entry go in order). Default: the store's. */
  writeRedis?: Redis;
  /** How long streamed jobs' output streams are kept (`jobs.stream_retention_s`). */
  streams?: StreamLimits;
}

/** A streamed job's output stream is kept for `retentionSeconds` after the job ends. */
export interface StreamLimits {
  retentionSeconds: number;
}

export const DEFAULT_STREAM_LIMITS: StreamLimits = { retentionSeconds: 3600 };

/**
 * Job records in Redis: one hash per job, a time-ordered index per tenant, the deadline index, the
 * requeue notes, and each tenant's jobs that have not ended (kept with every status change).
 */
export function createJobStore(redis: Redis, options: JobStoreOptions): JobStore {
  return new RedisJobStore(redis, options);
}

class RedisJobStore implements JobStore {
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  /** The connection new records are written on, and its scripts. */
  private readonly writer: Redis;
  private readonly writerScripts: Scripts;
  private readonly prefix: string;
  private readonly retentionMs: number;
  private readonly expiryKey: string;
  /** Jobs between their record's move and their new queue entry (bounded: each leaves as soon as the entry is written). */
  private readonly requeueKey: string;
  /**
   * How long a tenant's index keeps a job: as long as the longest-lived record can last, so a job with
   * a long deadline stays listed while it lives (entries of expired records are skipped when listed).
   */
  private readonly indexKeepMs: number;
  private readonly streams: StreamLimits;

  constructor(redis: Redis, options: JobStoreOptions) {
    this.redis = redis;
    this.scripts = defineScripts(redis);
    this.writer = options.writeRedis ?? redis;
    this.writerScripts = defineScripts(this.writer);
    this.prefix = options.prefix;
    this.retentionMs = options.retentionSeconds * 1000;
    this.expiryKey = deadlineIndexKey(options.prefix);
    this.requeueKey = requeuingKey(options.prefix);
    this.indexKeepMs = this.retentionMs + MAX_DEADLINE_S * 1000;
    this.streams = options.streams ?? DEFAULT_STREAM_LIMITS;
  }

  async create(record: JobRecord): Promise<void> {
    await this.createMany([record]);
  }

  createMany(records: readonly JobRecord[]): Promise<void> {
    const single = records.length === 1 ? records[0] : undefined;
    return single !== undefined && !isCluster(this.writer) ? this.createOne(single) : this.createPipelined(records);
  }

  async get(id: string): Promise<JobRecord | null> {
    const hash = await this.redis.hgetall(this.jobKey(id));
    return hash.status === undefined ? null : parseRecord(hash);
  }

  async getForTenant(id: string, tenant: string): Promise<JobRecord | null> {
    const record = await this.get(id);
    return record !== null && record.tenant === tenant ? record : null;
  }

  async transition(job: JobRef, from: readonly JobStatus[], to: JobStatus, fields: JobFields = {}, queueJobId = ''): Promise<TransitionResult> {
    const { id } = job;
    const tenant = tenantJobKeys(this.prefix, job.tenant);
    const channel = jobEventsChannel(this.prefix, id);
    const retentionMs = this.streams.retentionSeconds * 1000;
    const cluster = isCluster(this.redis);
    const outcome = cluster
      ? await this.scripts.sluiceJobTransition(this.jobKey(id), this.streamKey(id), from.join(','), to, queueJobId, channel, retentionMs, ...serializeJobFields(fields))
      : await this.scripts.sluiceJobTransitionTracked(this.jobKey(id), this.streamKey(id), tenant.active, tenant.running, from.join(','), to, queueJobId, channel, id, retentionMs, ...serializeJobFields(fields));
    if (outcome === null) return { ok: false, previous: null };
    if (cluster && outcome[0] === 1) {
      // The tenant's sets live in another slot: a second command. Should it be lost, the entry
      // stops counting at the job's deadline.
      await this.scripts.sluiceTenantJobsTrack(tenant.active, tenant.running, id, to, fields.expires_at ?? job.expires_at).catch(() => undefined);
    }
    return { ok: outcome[0] === 1, previous: outcome[1] as JobStatus };
  }

  async update(id: string, fields: JobFields): Promise<void> {
    const flat = serializeJobFields(fields);
    if (flat.length > 0) await this.scripts.sluiceJobUpdate(this.jobKey(id), ...flat);
  }

  async charge(id: string, allowed: readonly JobStatus[], fields: JobFields): Promise<boolean> {
    return (await this.scripts.sluiceJobCharge(this.jobKey(id), allowed.join(','), ...serializeJobFields(fields))) === 1;
  }

  async keepUntil(id: string, expiresAt: number): Promise<void> {
    await this.scripts.sluiceJobKeep(this.jobKey(id), this.recordTtlMs(expiresAt, Date.now()));
  }

  async appendAttempt(id: string, attempt: Attempt): Promise<void> {
    await this.scripts.sluiceJobAppend(this.jobKey(id), 'attempt', JSON.stringify(attempt));
  }

  async appendDelivery(id: string, delivery: WebhookDelivery): Promise<void> {
    await this.scripts.sluiceJobAppend(this.jobKey(id), 'delivery', JSON.stringify(delivery));
  }

  async list(tenant: string, { status, limit, after }: ListOptions): Promise<JobPage> {
    const page = await collectPage(this.redis, this.indexKey(tenant), { after, limit }, (ids) => this.readListed(ids, tenant, status));
    return { data: page.data, has_more: page.has_more };
  }

  async remove(id: string, tenant: string): Promise<void> {
    const filed = tenantJobKeys(this.prefix, tenant);
    await multiKey(this.redis).del(this.jobKey(id)).del(this.streamKey(id)).zrem(this.indexKey(tenant), id).zrem(this.expiryKey, id).zrem(filed.active, id).zrem(filed.running, id).exec();
  }

  async dueForExpiry(nowSeconds: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.expiryKey, '-inf', nowSeconds, 'LIMIT', 0, limit);
  }

  async scheduleExpiry(id: string, expiresAt: number): Promise<void> {
    await this.redis.zadd(this.expiryKey, expiresAt, id);
  }

  async clearExpiry(ids: readonly string[], dueBy?: number): Promise<void> {
    if (ids.length === 0) return;
    if (dueBy === undefined) await this.redis.zrem(this.expiryKey, ...ids);
    else await this.scripts.sluiceExpiryClear(this.expiryKey, dueBy, ...ids);
  }

  async requeuing(id: string): Promise<void> {
    await this.redis.zadd(this.requeueKey, Date.now(), id);
  }

  async requeued(id: string): Promise<void> {
    await this.redis.zrem(this.requeueKey, id);
  }

  stuckRequeues(beforeMs: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.requeueKey, '-inf', beforeMs, 'LIMIT', 0, limit);
  }

  async statuses(ids: readonly string[]): Promise<(JobStatus | null)[]> {
    if (ids.length === 0) return [];
    const pipeline = multiKey(this.redis);
    for (const id of ids) pipeline.hget(this.jobKey(id), 'status');
    return ((await pipeline.exec()) ?? []).map(([error, status]) => (error || typeof status !== 'string' ? null : (status as JobStatus)));
  }

  private jobKey(id: string): string {
    return jobRecordKey(this.prefix, id);
  }

  private streamKey(id: string): string {
    return jobStreamKey(this.prefix, id, isCluster(this.redis));
  }

  private indexKey(tenant: string): string {
    return tenantJobsKey(this.prefix, tenant);
  }

  /** A record is kept until its deadline plus the retention, so no accepted job outlives its record. */
  private recordTtlMs(expiresAt: number, now: number): number {
    return this.retentionMs + Math.max(0, expiresAt * 1000 - now);
  }

  /** The submit path: one script, no pipeline object (ioredis builds one per call, costly with many scripts defined). */
  private async createOne(record: JobRecord): Promise<void> {
    const { id, tenant, status } = record;
    const now = Date.now();
    await this.writerScripts.sluiceJobCreate(
      this.jobKey(id), this.indexKey(tenant), this.expiryKey, this.streamKey(id), tenantJobKeys(this.prefix, tenant).active, this.indexKeepMs, now, record.expires_at, id, this.recordTtlMs(record.expires_at, now),
      this.streams.retentionSeconds * 1000, 'status', status, ...serializeJobFields(newRecordFields(record)),
    );
  }

  /**
   * One round trip for any number of jobs. The index is another key (another cluster slot), so
   * this is a pipeline, not a transaction; it is trimmed of ids older than the retention as it grows.
   */
  private async createPipelined(records: readonly JobRecord[]): Promise<void> {
    const now = Date.now();
    const pipeline = multiKey(this.writer);
    const tenants = new Set<string>();
    for (const record of records) {
      const { id, tenant, status } = record;
      const key = this.jobKey(id);
      pipeline
        .hset(key, 'status', status, ...serializeJobFields(newRecordFields(record)))
        .pexpire(key, this.recordTtlMs(record.expires_at, now))
        .zadd(this.indexKey(tenant), now, id)
        .zadd(this.expiryKey, record.expires_at, id);
      if (!isTerminal(status)) pipeline.zadd(tenantJobKeys(this.prefix, tenant).active, record.expires_at, id);
      if (record.stream !== null) {
        const stream = this.streamKey(id);
        pipeline.xadd(stream, '*', 'k', 'status', 's', status, 'p', '').pexpire(stream, this.recordTtlMs(record.expires_at, now));
      }
      tenants.add(tenant);
    }
    for (const tenant of tenants) {
      pipeline.zremrangebyscore(this.indexKey(tenant), '-inf', now - this.indexKeepMs).pexpire(this.indexKey(tenant), this.indexKeepMs);
      pipeline.pexpire(tenantJobKeys(this.prefix, tenant).active, TENANT_JOBS_KEEP_MS);
    }
    throwOnExecError(await pipeline.exec());
  }

  /** One page of the tenant's index read back in one round trip; null for an id the page skips. */
  private async readListed(ids: readonly string[], tenant: string, status: JobStatus | undefined): Promise<(JobRecord | null)[]> {
    const pipeline = multiKey(this.redis);
    for (const id of ids) pipeline.hgetall(this.jobKey(id));
    return ((await pipeline.exec()) ?? []).map(([error, hash]) => {
      const fields = hash as Record<string, string> | null;
      if (error || fields === null || fields.status === undefined) return null; // expired record, index not yet trimmed
      const record = parseRecord(fields);
      return record.tenant === tenant && (status === undefined || record.status === status) ? record : null;
    });
  }
}

function throwOnExecError(results: [Error | null, unknown][] | null): void {
  const failure = results?.find(([error]) => error !== null);
  if (failure?.[0]) throw failure[0];
}
