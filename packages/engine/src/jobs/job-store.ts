import type { Redis } from 'ioredis';
import { isCluster, multiKey } from '@sluice/shared';
import { collectPage } from '../indexes/paging.ts';
import { MAX_DEADLINE_S } from '../schemas/job-request.ts';
import type { Attempt, JobRecord, JobStatus, WebhookDelivery } from './job-types.ts';
import { deadlineIndexKey, jobEventsChannel, jobRecordKey, requeuingKey, tenantJobsKey } from '../keys.ts';
import { defineScripts } from '../scripts.ts';
import { newRecordFields, parseRecord, serializeJobFields, type JobFields } from './job-codec.ts';

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
  /** The job only if it belongs to `tenant`: another tenant's id reads as absent. */
  getForTenant(id: string, tenant: string): Promise<JobRecord | null>;
  /**
   * Sets the status only when it is one of `from` (and, given `queueJobId`, only while that BullMQ
   * job is still the record's live one), writing `fields` in the same step.
   */
  transition(id: string, from: readonly JobStatus[], to: JobStatus, fields?: JobFields, queueJobId?: string): Promise<TransitionResult>;
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
  /** Forgets ids in the expiry index (they ended, or were just expired). */
  clearExpiry(ids: readonly string[]): Promise<void>;
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
}

export function createJobStore(redis: Redis, options: JobStoreOptions): JobStore {
  const scripts = defineScripts(redis);
  const jobKey = (id: string): string => jobRecordKey(options.prefix, id);
  const indexKey = (tenant: string): string => tenantJobsKey(options.prefix, tenant);
  const retentionMs = options.retentionSeconds * 1000;
  const expiryKey = deadlineIndexKey(options.prefix);
  /** Jobs between their record's move and their new queue entry (bounded: each leaves as soon as the entry is written). */
  const requeueKey = requeuingKey(options.prefix);
  /** A record is kept until its deadline plus the retention, so no accepted job outlives its record. */
  const recordTtlMs = (expiresAt: number, now: number): number => retentionMs + Math.max(0, expiresAt * 1000 - now);
  /**
   * How long a tenant's index keeps a job: as long as the longest-lived record can last, so a job with
   * a long deadline stays listed while it lives (entries of expired records are skipped when listed).
   */
  const indexKeepMs = retentionMs + MAX_DEADLINE_S * 1000;

  const serialize = serializeJobFields;

  const read = async (id: string): Promise<JobRecord | null> => {
    const hash = await redis.hgetall(jobKey(id));
    return hash.status === undefined ? null : parseRecord(hash);
  };

  const writer = options.writeRedis ?? redis;
  const writerScripts = defineScripts(writer);
  const createMany = async (records: readonly JobRecord[]): Promise<void> => {
    const single = records.length === 1 ? records[0] : undefined;
    if (single !== undefined && !isCluster(writer)) {
      // The submit path: one script, no pipeline object (ioredis builds one per call, costly with many scripts defined).
      const { id, tenant, status } = single;
      const now = Date.now();
      await writerScripts.sluiceJobCreate(jobKey(id), indexKey(tenant), expiryKey, indexKeepMs, now, single.expires_at, id, recordTtlMs(single.expires_at, now), 'status', status, ...serialize(newRecordFields(single)));
      return;
    }
    // One round trip for any number of jobs. The index is another key (another cluster slot), so
    // this is a pipeline, not a transaction; it is trimmed of ids older than the retention as it grows.
    const now = Date.now();
    const pipeline = multiKey(writer);
    const tenants = new Set<string>();
    for (const record of records) {
      const { id, tenant, status } = record;
      const key = jobKey(id);
      pipeline
        .hset(key, 'status', status, ...serialize(newRecordFields(record)))
        .pexpire(key, recordTtlMs(record.expires_at, now))
        .zadd(indexKey(tenant), now, id)
        .zadd(expiryKey, record.expires_at, id);
      tenants.add(tenant);
    }
    for (const tenant of tenants) pipeline.zremrangebyscore(indexKey(tenant), '-inf', now - indexKeepMs).pexpire(indexKey(tenant), indexKeepMs);
    throwOnExecError(await pipeline.exec());
  };

  return {
    async create(record) {
      await createMany([record]);
    },

    createMany,

    get: read,

    async getForTenant(id, tenant) {
      const record = await read(id);
      return record !== null && record.tenant === tenant ? record : null;
    },

    async transition(id, from, to, fields = {}, queueJobId = '') {
      const outcome = await scripts.sluiceJobTransition(jobKey(id), from.join(','), to, queueJobId, jobEventsChannel(options.prefix, id), ...serialize(fields));
      if (outcome === null) return { ok: false, previous: null };
      return { ok: outcome[0] === 1, previous: outcome[1] as JobStatus };
    },

    async update(id, fields) {
      const flat = serialize(fields);
      if (flat.length > 0) await scripts.sluiceJobUpdate(jobKey(id), ...flat);
    },

    async keepUntil(id, expiresAt) {
      await scripts.sluiceJobKeep(jobKey(id), recordTtlMs(expiresAt, Date.now()));
    },

    async appendAttempt(id, attempt) {
      await scripts.sluiceJobAppend(jobKey(id), 'attempt', JSON.stringify(attempt));
    },

    async appendDelivery(id, delivery) {
      await scripts.sluiceJobAppend(jobKey(id), 'delivery', JSON.stringify(delivery));
    },

    async list(tenant, { status, limit, after }) {
      const page = await collectPage(redis, indexKey(tenant), { after, limit }, async (ids) => {
        const pipeline = multiKey(redis);
        for (const id of ids) pipeline.hgetall(jobKey(id));
        return ((await pipeline.exec()) ?? []).map(([error, hash]) => {
          const fields = hash as Record<string, string> | null;
          if (error || fields === null || fields.status === undefined) return null; // expired record, index not yet trimmed
          const record = parseRecord(fields);
          return record.tenant === tenant && (status === undefined || record.status === status) ? record : null;
        });
      });
      return { data: page.data, has_more: page.has_more };
    },

    async remove(id, tenant) {
      await multiKey(redis).del(jobKey(id)).zrem(indexKey(tenant), id).zrem(expiryKey, id).exec();
    },

    async dueForExpiry(nowSeconds, limit) {
      return redis.zrangebyscore(expiryKey, '-inf', nowSeconds, 'LIMIT', 0, limit);
    },

    async scheduleExpiry(id, expiresAt) {
      await redis.zadd(expiryKey, expiresAt, id);
    },

    async clearExpiry(ids) {
      if (ids.length > 0) await redis.zrem(expiryKey, ...ids);
    },

    async requeuing(id) {
      await redis.zadd(requeueKey, Date.now(), id);
    },

    async requeued(id) {
      await redis.zrem(requeueKey, id);
    },

    stuckRequeues: (beforeMs, limit) => redis.zrangebyscore(requeueKey, '-inf', beforeMs, 'LIMIT', 0, limit),
  };
}

function throwOnExecError(results: [Error | null, unknown][] | null): void {
  const failure = results?.find(([error]) => error !== null);
  if (failure?.[0]) throw failure[0];
}
