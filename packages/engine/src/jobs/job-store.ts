import type { Redis } from 'ioredis';
import { isCluster, multiKey } from '@sluice/shared';
import { collectPage } from '@sluice/shared';
import { MAX_DEADLINE_S } from '../schemas/job-request.ts';
import type { Attempt, JobRecord, JobStatus, WebhookDelivery } from './job-types.ts';
import { deadlineIndexKey, jobEventsChannel, jobRecordKey, requeuingKey, tenantJobsKey } from '../keys.ts';
import { newRecordFields, parseRecord, serializeJobFields, type JobFields } from './job-codec.ts';

export { parseJobSnapshot, serializeJobFields, type JobFields } from './job-codec.ts';

/**
 * Sets the status only when the current one is among the allowed ones (publishing the new status
 * on the job's channel, which long-polls, SSE streams and synchronous calls wait on), writing the other fields in
 * the same step: two processes can never both finish a job (a cancel racing a success, say).
 * Returns the status found, so a refused caller knows what won.
 */
const TRANSITION = `
local current = redis.call('HMGET', KEYS[1], 'status', 'queue_job_id')
if not current[1] then return false end
if not string.find(',' .. ARGV[1] .. ',', ',' .. current[1] .. ',', 1, true) then return {0, current[1]} end
if ARGV[3] ~= '' and ARGV[3] ~= current[2] then return {0, current[1]} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 5))
redis.call('PUBLISH', ARGV[4], ARGV[2])
return {1, current[1]}
`;

/**
 * Writes a new record with its TTL and indexes in one script (one server only: on a Cluster the keys
 * live in different slots and go as separate commands). The record lives until its deadline plus
 * the retention; the tenant's index keeps a job as long as any record could live.
 * KEYS: job, tenant index, expiry index. ARGV: index keep ms, now ms, expires_at, id, record TTL ms, field pairs...
 */
const CREATE = `
redis.call('HSET', KEYS[1], unpack(ARGV, 6))
redis.call('PEXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', tonumber(ARGV[2]) - tonumber(ARGV[1]))
redis.call('PEXPIRE', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
`;

/** Writes fields only while the record exists: a late write never recreates an expired record without its TTL. */
const UPDATE = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;

/** Lengthens a record's TTL to ARGV[1] ms when it is shorter (a replay's fresh deadline); never shortens it. */
const KEEP = `
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
if ttl >= 0 and ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
`;

/** Appends one entry (an attempt, a webhook delivery) as its own field, so concurrent writers never overwrite each other. */
const APPEND = `
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local index = redis.call('HINCRBY', KEYS[1], ARGV[1] .. '_count', 1) - 1
redis.call('HSET', KEYS[1], ARGV[1] .. ':' .. index, ARGV[2])
return index
`;

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

/** The store's Lua scripts, defined once per connection so calls go by EVALSHA. */
interface ScriptedRedis {
  sluiceJobTransition(key: string, from: string, to: string, guard: string, channel: string, ...fields: string[]): Promise<[number, string] | null>;
  sluiceJobAppend(key: string, list: string, entry: string): Promise<number>;
  sluiceJobCreate(job: string, index: string, expiry: string, ...args: (string | number)[]): Promise<number>;
  sluiceJobUpdate(job: string, ...fields: string[]): Promise<number>;
  sluiceJobKeep(job: string, ttlMs: number): Promise<number>;
}

function withScripts(redis: Redis): ScriptedRedis {
  if (!('sluiceJobTransition' in redis)) {
    redis.defineCommand('sluiceJobTransition', { numberOfKeys: 1, lua: TRANSITION });
    redis.defineCommand('sluiceJobAppend', { numberOfKeys: 1, lua: APPEND });
    redis.defineCommand('sluiceJobCreate', { numberOfKeys: 3, lua: CREATE });
    redis.defineCommand('sluiceJobUpdate', { numberOfKeys: 1, lua: UPDATE });
    redis.defineCommand('sluiceJobKeep', { numberOfKeys: 1, lua: KEEP });
  }
  return redis as unknown as ScriptedRedis;
}

export function createJobStore(redis: Redis, options: JobStoreOptions): JobStore {
  const scripts = withScripts(redis);
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
  const writerScripts = withScripts(writer);
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
