import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { multiKey, type TraceContext } from '@sluice/shared';
import { collectPage } from '../indexes/paging.ts';
import { batchChildrenKey, batchKey, tenantBatchesKey } from '../keys.ts';
import { defineScripts, type Scripts } from '../scripts.ts';
import { PrioritySchema, type Priority } from '../schemas/job-request.ts';

export const BATCH_STATUSES = ['validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

export const BATCH_ID_PATTERN = /^batch_[A-Za-z0-9_-]{22}$/;
export const newBatchId = (): string => `batch_${randomBytes(16).toString('base64url')}`;

/** The OpenAI Batch API object (plus `webhook` and `priority`, Sluice's extensions). */
export interface BatchObject {
  id: string;
  object: 'batch';
  endpoint: string;
  errors: { object: 'list'; data: { code: string; message: string; line: number | null; param: string | null }[] } | null;
  input_file_id: string | null;
  completion_window: string;
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
  webhook: { url: string } | null;
  /** The priority class of the batch's children: a line may ask for a lower one, never a higher one. */
  priority: Priority;
}

export interface BatchRecord extends BatchObject {
  tenant: string;
  /** Children created so far; `total` is final once `expanded`. */
  expanded: boolean;
  /** The trace context of the request that created it (tracing on): its children's spans join that trace. */
  trace: TraceContext | null;
}

export interface BatchStore {
  create(record: BatchRecord): Promise<void>;
  get(id: string): Promise<BatchRecord | null>;
  getForTenant(id: string, tenant: string): Promise<BatchRecord | null>;
  list(tenant: string, limit: number, after?: string): Promise<{ data: BatchRecord[]; has_more: boolean }>;
  /** Status change guarded by the current status; true when it happened. */
  transition(id: string, from: readonly BatchStatus[], to: BatchStatus, fields?: Record<string, string | number>): Promise<boolean>;
  update(id: string, fields: Record<string, string | number>): Promise<void>;
  /** Appends child job ids, in input order. */
  addChildren(id: string, jobIds: readonly string[]): Promise<void>;
  children(id: string, start: number, count: number): Promise<string[]>;
  /** Counts a finished child; true when the batch is now finalizing (the caller finalizes it). */
  childEnded(id: string, outcome: 'completed' | 'failed'): Promise<boolean>;
  /** Children for lines that failed validation count at once. */
  countFailedLines(id: string, count: number): Promise<void>;
  expanded(id: string, total: number): Promise<boolean>;
  /** What the batch was (`in_progress` or `cancelling`) when it started finalizing. */
  finalizingFrom(id: string): Promise<string | null>;
}

const JSON_FIELDS = new Set(['errors', 'metadata', 'webhook', 'trace']);

/** Batch records in Redis: one hash per batch, its children's job ids in a list, a time-ordered index per tenant; all kept `retentionSeconds`. */
export function createBatchStore(redis: Redis, prefix: string, retentionSeconds: number): BatchStore {
  return new RedisBatchStore(redis, prefix, retentionSeconds);
}

class RedisBatchStore implements BatchStore {
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;
  private readonly retentionSeconds: number;

  constructor(redis: Redis, prefix: string, retentionSeconds: number) {
    this.redis = redis;
    this.scripts = defineScripts(redis);
    this.prefix = prefix;
    this.retentionSeconds = retentionSeconds;
  }

  async create(record: BatchRecord): Promise<void> {
    await multiKey(this.redis)
      .hset(this.key(record.id), recordFields(record))
      .expire(this.key(record.id), this.retentionSeconds)
      .zadd(this.indexKey(record.tenant), Date.now(), record.id)
      .expire(this.indexKey(record.tenant), this.retentionSeconds)
      .exec();
  }

  async get(id: string): Promise<BatchRecord | null> {
    if (!BATCH_ID_PATTERN.test(id)) return null;
    const hash = await this.redis.hgetall(this.key(id));
    return hash.id === undefined ? null : parse(hash);
  }

  async getForTenant(id: string, tenant: string): Promise<BatchRecord | null> {
    const record = await this.get(id);
    return record !== null && record.tenant === tenant ? record : null;
  }

  async list(tenant: string, limit: number, after?: string): Promise<{ data: BatchRecord[]; has_more: boolean }> {
    const page = await collectPage(this.redis, this.indexKey(tenant), { after, limit }, (ids) => Promise.all(ids.map((id) => this.get(id))));
    return { data: page.data, has_more: page.has_more };
  }

  async transition(id: string, from: readonly BatchStatus[], to: BatchStatus, fields: Record<string, string | number> = {}): Promise<boolean> {
    const flat = Object.entries(fields).flatMap(([name, value]) => [name, JSON_FIELDS.has(name) && typeof value !== 'string' ? JSON.stringify(value) : value]);
    return (await this.scripts.sluiceBatchTransition(this.key(id), from.join(','), to, ...flat)) === 'OK';
  }

  async update(id: string, fields: Record<string, string | number>): Promise<void> {
    const flat = Object.entries(fields).flat();
    if (flat.length > 0) await this.scripts.sluiceBatchUpdate(this.key(id), ...flat);
  }

  async addChildren(id: string, jobIds: readonly string[]): Promise<void> {
    if (jobIds.length === 0) return;
    await this.redis.pipeline().rpush(this.childrenKey(id), ...jobIds).expire(this.childrenKey(id), this.retentionSeconds).exec();
  }

  children(id: string, start: number, count: number): Promise<string[]> {
    return this.redis.lrange(this.childrenKey(id), start, start + count - 1);
  }

  async childEnded(id: string, outcome: 'completed' | 'failed'): Promise<boolean> {
    return (await this.scripts.sluiceBatchChildEnded(this.key(id), outcome, nowSeconds())) === 1;
  }

  async countFailedLines(id: string, count: number): Promise<void> {
    if (count > 0) await this.scripts.sluiceBatchUpdate(this.key(id), 'failed', count, 'incr');
  }

  async expanded(id: string, total: number): Promise<boolean> {
    return (await this.scripts.sluiceBatchExpanded(this.key(id), total, nowSeconds())) === 1;
  }

  finalizingFrom(id: string): Promise<string | null> {
    return this.redis.hget(this.key(id), 'was');
  }

  private key(id: string): string {
    return batchKey(this.prefix, id);
  }

  private childrenKey(id: string): string {
    return batchChildrenKey(this.prefix, id);
  }

  private indexKey(tenant: string): string {
    return tenantBatchesKey(this.prefix, tenant);
  }
}

const nowSeconds = (): number => Math.floor(Date.now() / 1000);

/** A new record's hash fields: counters start at zero, JSON fields are written only when set. */
function recordFields(record: BatchRecord): Record<string, string | number> {
  const fields: Record<string, string | number> = {
    id: record.id, tenant: record.tenant, status: record.status, endpoint: record.endpoint, input_file_id: record.input_file_id ?? '',
    completion_window: record.completion_window, created_at: record.created_at, expires_at: record.expires_at,
    total: record.request_counts.total, completed: 0, failed: 0, expanded: record.expanded ? '1' : '0', priority: record.priority,
  };
  for (const name of JSON_FIELDS) {
    const value = record[name as keyof BatchRecord];
    if (value !== null && value !== undefined) fields[name] = JSON.stringify(value);
  }
  return fields;
}

function parse(hash: Record<string, string>): BatchRecord {
  const number = (name: string): number | null => (hash[name] === undefined || hash[name] === '' ? null : Number(hash[name]));
  const json = <T>(name: string): T | null => (hash[name] === undefined ? null : (JSON.parse(hash[name]) as T));
  return {
    id: hash.id ?? '',
    object: 'batch',
    endpoint: hash.endpoint ?? '/v1/chat/completions',
    errors: json('errors'),
    input_file_id: hash.input_file_id || null,
    completion_window: hash.completion_window ?? '24h',
    status: hash.status as BatchStatus,
    output_file_id: hash.output_file_id || null,
    error_file_id: hash.error_file_id || null,
    created_at: number('created_at') ?? 0,
    in_progress_at: number('in_progress_at'),
    expires_at: number('expires_at') ?? 0,
    finalizing_at: number('finalizing_at'),
    completed_at: number('completed_at'),
    failed_at: number('failed_at'),
    expired_at: number('expired_at'),
    cancelling_at: number('cancelling_at'),
    cancelled_at: number('cancelled_at'),
    request_counts: { total: number('total') ?? 0, completed: number('completed') ?? 0, failed: number('failed') ?? 0 },
    metadata: json('metadata'),
    webhook: json('webhook'),
    // Batches stored before batches had a priority ran their children at low.
    priority: PrioritySchema.catch('low').parse(hash.priority),
    tenant: hash.tenant ?? '',
    expanded: hash.expanded === '1',
    trace: json('trace'),
  };
}

/** The API object of a batch record. */
export function toBatchObject(record: BatchRecord): BatchObject {
  const { tenant: _tenant, expanded: _expanded, trace: _trace, ...object } = record;
  return object;
}
