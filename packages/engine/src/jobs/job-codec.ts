import { JOB_STATUSES, type JobRecord, type JobStatus, type RoutingDecision } from './job-types.ts';

/**
 * How a job record is laid out in its Redis hash, field by field, and read back. Fields fixed at
 * submit sit together in one JSON field (`doc`): fewer hash fields, less memory per waiting job.
 * Attempts and webhook deliveries are lists of their own fields (`attempt:0`, `attempt:1`, … with
 * `attempt_count`), so concurrent writers append without overwriting each other. Everything else is
 * a field of its own: text, a number, or JSON; `null` is written as JSON null, and a field that is
 * absent reads as its default.
 */
type Storage = 'text' | 'number' | 'json' | 'list';

interface Layout {
  storage: Storage;
  /** Fixed at submit: written inside `doc` (read from its own field only in records older than `doc`). */
  inDoc: boolean;
  /** What an absent field reads as (a new record leaves fields at their default unwritten). */
  empty: unknown;
}

const fixed = (storage: Storage, empty: unknown = null): Layout => ({ storage, inDoc: true, empty });
const field = (storage: Storage, empty: unknown = null): Layout => ({ storage, inDoc: false, empty });

/** The layout of every record field; `status` is read and written on its own by the scripts. */
const LAYOUT: { readonly [Name in keyof JobRecord]: Layout } = {
  id: fixed('text', ''),
  tenant: fixed('text', ''),
  model: fixed('text', ''),
  priority: fixed('text', 'normal'),
  tier: fixed('text', 'standard'),
  created_at: fixed('number', 0),
  request: fixed('json', { messages: [], params: {} }),
  batch_id: fixed('text'),
  custom_id: fixed('text'),
  metadata: fixed('json', {}),
  webhook: fixed('json'),
  cache: fixed('json'),
  cache_entry: fixed('json'),
  response: fixed('json'),
  trace: fixed('json'),
  status: field('text'),
  started_at: field('number'),
  completed_at: field('number'),
  expires_at: field('number', 0),
  routing: field('json', { route: '', strategy: 'ordered', tier: 'standard', candidates: [], failovers: [] }),
  target: field('number', 0),
  queue_job_id: field('text', ''),
  tries: field('number', 0),
  exhausted: field('json', []),
  refused: field('json', []),
  replayed_calls: field('number', 0),
  reserved_usd: field('number', 0),
  running_since: field('number'),
  provider: field('text'),
  provider_model: field('text'),
  result: field('json'),
  error: field('json'),
  usage: field('json'),
  cost_usd: field('number'),
  cost_details: field('json'),
  execution: field('json'),
  // Its own field (not in `doc`): the status scripts look for it to write a streamed job's status entries.
  stream: field('json'),
  webhook_status: field('text'),
  attempts: field('list', []),
  deliveries: field('list', []),
};

/** The hash field names of a list: `attempt:<n>` entries counted by `attempt_count`. */
const LIST_FIELD: Partial<Record<keyof JobRecord, string>> = { attempts: 'attempt', deliveries: 'delivery' };

const NAMES = Object.keys(LAYOUT) as (keyof JobRecord)[];
const DOC_NAMES = NAMES.filter((name) => LAYOUT[name].inDoc);
const CHANGING_NAMES = NAMES.filter((name) => !LAYOUT[name].inDoc && LAYOUT[name].storage !== 'list' && name !== 'status');

/** Fields a caller may write after submit: not the identity, the status (the scripts set it) or the lists (appended). */
export type JobFields = Partial<Omit<JobRecord, 'id' | 'tenant' | 'status' | 'attempts' | 'deliveries'>>;

/**
 * The routing decision as stored: what is at its default left out (the `ordered` strategy, no
 * failovers, a candidate's `eligible: true` and `reason: null`), some 70 bytes less per job. Read
 * back by `routingOf`.
 */
function storedRouting(routing: RoutingDecision): Record<string, unknown> {
  const { strategy, failovers, candidates, ...rest } = routing;
  return {
    ...rest,
    ...(strategy === 'ordered' ? {} : { strategy }),
    candidates: candidates.map(({ eligible, reason, ...candidate }) => ({ ...candidate, ...(eligible ? {} : { eligible }), ...(reason === null ? {} : { reason }) })),
    ...(failovers.length === 0 ? {} : { failovers }),
  };
}

/** The routing decision from its stored form (full ones, as older records hold, read the same). */
function routingOf(stored: Record<string, unknown>): RoutingDecision {
  const candidates = (stored.candidates ?? []) as Record<string, unknown>[];
  return {
    ...stored,
    strategy: stored.strategy ?? 'ordered',
    candidates: candidates.map((candidate) => ({ ...candidate, eligible: candidate.eligible ?? true, reason: candidate.reason ?? null })),
    failovers: stored.failovers ?? [],
  } as RoutingDecision;
}

/** Record fields as HSET arguments: JSON for structured fields and nulls, text for the rest. */
export function serializeJobFields(fields: JobFields): string[] {
  const flat: string[] = [];
  for (const [name, value] of Object.entries(fields)) {
    if (value === undefined) continue;
    const isJson = LAYOUT[name as keyof JobRecord]?.storage === 'json' || value === null;
    const stored = name === 'routing' && value !== null ? storedRouting(value as RoutingDecision) : value;
    flat.push(name, isJson ? JSON.stringify(stored) : String(stored));
  }
  return flat;
}

/** True when a value is what its field reads as when absent, so a new record need not write it. */
function isDefault(name: keyof JobRecord, value: unknown): boolean {
  if (value === null || value === undefined) return true;
  const empty = LAYOUT[name]?.empty;
  if (Array.isArray(value)) return Array.isArray(empty) && value.length === 0;
  if (typeof value === 'object') return typeof empty === 'object' && empty !== null && Object.keys(empty).length === 0 && Object.keys(value).length === 0;
  return value === empty;
}

/** A new record as hash fields: `status`, one `doc` with the fixed fields, and the changing ones that are not at their default. */
export function newRecordFields(record: JobRecord): JobFields & { doc: string } {
  const doc: Record<string, unknown> = {};
  for (const name of DOC_NAMES) if (!isDefault(name, record[name])) doc[name] = record[name];
  const changing: Record<string, unknown> = {};
  for (const name of CHANGING_NAMES) changing[name] = record[name];
  return { ...withoutDefaults(changing as JobFields), doc: JSON.stringify(doc) };
}

/**
 * Drops fields at their read-back default (nulls, 0 tries, no exhausted targets, nothing reserved,
 * no metadata): fewer hash fields is less Redis memory per waiting job.
 */
export function withoutDefaults(fields: JobFields): JobFields {
  const kept: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(fields)) if (!isDefault(name as keyof JobRecord, value)) kept[name] = value;
  return kept as JobFields;
}

/** Each object default as JSON, parsed anew for every read (a third of what `structuredClone` costs). */
const EMPTY_JSON = new Map<unknown, string>(Object.values(LAYOUT).filter(({ empty }) => typeof empty === 'object' && empty !== null).map(({ empty }) => [empty, JSON.stringify(empty)]));

/** A field's default as a value of its own: objects and arrays are new each time, so a reader may change them. */
function emptyOf(empty: unknown): unknown {
  if (typeof empty !== 'object' || empty === null) return empty;
  if (Array.isArray(empty) && empty.length === 0) return [];
  return JSON.parse(EMPTY_JSON.get(empty) ?? JSON.stringify(empty));
}

/** One field of the hash as its layout says; a field absent from the hash reads as its default. */
function readField(hash: Record<string, string>, doc: Record<string, unknown>, name: keyof JobRecord): unknown {
  const layout = LAYOUT[name];
  const list = LIST_FIELD[name];
  if (list !== undefined) {
    const entries: unknown[] = [];
    const count = Number(hash[`${list}_count`] ?? 0);
    for (let index = 0; index < count; index += 1) {
      const value = hash[`${list}:${index}`];
      if (value !== undefined) entries.push(JSON.parse(value));
    }
    return entries;
  }
  if (layout.inDoc && doc[name] !== undefined) return doc[name];
  const value = hash[name];
  if (value === undefined || value === 'null') return emptyOf(layout.empty);
  if (layout.storage === 'number') return Number(value);
  if (name === 'routing') return routingOf(JSON.parse(value) as Record<string, unknown>);
  return layout.storage === 'json' ? JSON.parse(value) : value;
}

/**
 * A record from its hash. Only the status is checked here: the record is written by the lifecycle
 * alone, through this codec, and a full schema parse on every read costs more than the call it serves
 * (the store's tests hold what is written to JobRecordSchema).
 */
export function parseRecord(hash: Record<string, string>): JobRecord {
  const doc = (hash.doc === undefined ? {} : JSON.parse(hash.doc)) as Record<string, unknown>;
  const status = hash.status as JobStatus;
  if (!JOB_STATUSES.includes(status)) throw new Error(`job ${String(doc.id ?? hash.id)} has an unknown status "${status}"`);
  const record: Record<string, unknown> = {};
  for (const name of NAMES) record[name] = readField(hash, doc, name);
  record.status = status;
  return record as JobRecord;
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

/**
 * A message on a job's events channel: the new status, and when the writer sent the record along
 * (`<status>\n<HGETALL as JSON>`, as a success does for whoever waits) a parse of it, which is null
 * when the text is not a record.
 */
export function decodeJobEvent(message: string): { status: string; snapshot: (() => JobRecord | null) | null } {
  const newline = message.indexOf('\n');
  if (newline === -1) return { status: message, snapshot: null };
  return {
    status: message.slice(0, newline),
    snapshot: () => {
      try {
        return parseJobSnapshot(JSON.parse(message.slice(newline + 1)));
      } catch {
        return null; // read it back instead
      }
    },
  };
}
