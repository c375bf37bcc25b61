import type { Attempt, JobRecord, JobStatus, WebhookDelivery } from './job-types.ts';
import { JOB_STATUSES } from './job-types.ts';

/** How a job record is laid out in its Redis hash: keys, field encoding, and reading it back. */

/** Fields a caller may write; JSON fields are serialized, null deletes nothing but writes JSON null. */
export type JobFields = Partial<Omit<JobRecord, 'id' | 'tenant' | 'status' | 'attempts' | 'deliveries'>>;

const JSON_FIELDS = ['request', 'routing', 'result', 'error', 'usage', 'cost_details', 'webhook', 'metadata', 'exhausted', 'refused'] as const;

/** Record fields as HSET arguments: JSON for structured fields and nulls, text for the rest. */
export function serializeJobFields(fields: JobFields): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const isJson = (JSON_FIELDS as readonly string[]).includes(name) || value === null;
    flat.push(name, isJson ? JSON.stringify(value) : String(value));
  }
  return flat;
}

/** Fields fixed at submit, kept together as one JSON field (`doc`): fewer hash fields, less memory. */
const DOC_FIELDS = ['id', 'tenant', 'model', 'priority', 'tier', 'created_at', 'request', 'batch_id', 'custom_id', 'metadata', 'webhook'] as const;
type DocField = (typeof DOC_FIELDS)[number];

/** A new record as hash fields: `status`, one `doc` with the fixed fields, and the changing ones that are not at their default. */
export function newRecordFields(record: JobRecord): JobFields & { doc: string } {
  const doc: Partial<Record<DocField, unknown>> = {};
  for (const name of DOC_FIELDS) {
    const value = record[name];
    if (value !== null && !(name === 'metadata' && Object.keys(record.metadata).length === 0)) doc[name] = value;
  }
  const { attempts: _attempts, deliveries: _deliveries, status: _status, ...rest } = record;
  const changing: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(rest)) if (!(DOC_FIELDS as readonly string[]).includes(name)) changing[name] = value;
  return { ...withoutDefaults(changing as JobFields), doc: JSON.stringify(doc) };
}

/**
 * Drops fields a new record holds at their read-back default (nulls, 0 tries, no exhausted targets,
 * nothing reserved, no metadata): fewer hash fields is less Redis memory per waiting job.
 */
export function withoutDefaults(fields: JobFields): JobFields {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (value === null || value === undefined) continue;
    if ((name === 'tries' || name === 'reserved_usd' || name === 'replayed_calls') && value === 0) continue;
    if ((name === 'exhausted' || name === 'refused') && Array.isArray(value) && value.length === 0) continue;
    if (name === 'metadata' && typeof value === 'object' && Object.keys(value).length === 0) continue;
    kept[name] = value;
  }
  return kept as JobFields;
}

/**
 * A record from the flat field/value list HGETALL returns inside a script (as published with a
 * success to whoever waits on the job), or null when it is not one.
 */
export function parseJobSnapshot(flat: unknown): JobRecord | null {
  if (!Array.isArray(flat) || flat.length % 2 !== 0) return null;
  const hash: Record<string, string> = {};
  for (let index = 0; index < flat.length; index += 2) hash[String(flat[index])] = String(flat[index + 1]);
  return hash.status === undefined ? null : parseRecord(hash);
}

export function parseRecord(hash: Record<string, string>): JobRecord {
  const json = <T>(name: string, fallback: T): T => {
    const value = hash[name];
    return value === undefined ? fallback : (JSON.parse(value) as T);
  };
  const number = (name: string): number | null => {
    const value = hash[name];
    return value === undefined || value === 'null' ? null : Number(value);
  };
  const text = (name: string): string | null => {
    const value = hash[name];
    return value === undefined || value === 'null' ? null : value;
  };
  const list = <T>(name: string): T[] => {
    const entries: T[] = [];
    const count = Number(hash[`${name}_count`] ?? 0);
    for (let index = 0; index < count; index += 1) {
      const value = hash[`${name}:${index}`];
      if (value !== undefined) entries.push(JSON.parse(value) as T);
    }
    return entries;
  };
  const attempts = list<Attempt>('attempt');
  const status = hash.status as JobStatus;
  const doc = (hash.doc === undefined ? {} : JSON.parse(hash.doc)) as Partial<JobRecord>;
  if (!JOB_STATUSES.includes(status)) throw new Error(`job ${doc.id ?? hash.id} has an unknown status "${status}"`);
  return {
    id: doc.id ?? hash.id ?? '',
    tenant: doc.tenant ?? hash.tenant ?? '',
    status,
    model: doc.model ?? hash.model ?? '',
    priority: doc.priority ?? ((hash.priority ?? 'normal') as JobRecord['priority']),
    tier: doc.tier ?? ((hash.tier ?? 'standard') as JobRecord['tier']),
    created_at: doc.created_at ?? number('created_at') ?? 0,
    started_at: number('started_at'),
    completed_at: number('completed_at'),
    expires_at: number('expires_at') ?? 0,
    request: doc.request ?? json('request', { messages: [], params: {} }),
    routing: json('routing', { route: '', strategy: 'ordered', tier: 'standard', candidates: [], failovers: [] }),
    target: number('target') ?? 0,
    queue_job_id: hash.queue_job_id ?? '',
    tries: number('tries') ?? 0,
    exhausted: json('exhausted', []),
    refused: json('refused', []),
    replayed_calls: number('replayed_calls') ?? 0,
    reserved_usd: number('reserved_usd') ?? 0,
    running_since: number('running_since'),
    provider: text('provider'),
    provider_model: text('provider_model'),
    result: json('result', null),
    error: json('error', null),
    usage: json('usage', null),
    cost_usd: number('cost_usd'),
    cost_details: json('cost_details', null),
    attempts,
    webhook: doc.webhook ?? json('webhook', null),
    webhook_status: (text('webhook_status') ?? null) as JobRecord['webhook_status'],
    deliveries: list<WebhookDelivery>('delivery'),
    batch_id: doc.batch_id ?? text('batch_id'),
    custom_id: doc.custom_id ?? text('custom_id'),
    metadata: doc.metadata ?? json('metadata', {}),
  };
}
