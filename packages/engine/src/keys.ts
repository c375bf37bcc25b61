/**
 * Every Redis key and pub/sub channel Sluice names itself (BullMQ names its queues' keys), so a
 * key's layout is decided in one place. Each name starts with the configured prefix (`redis.prefix`).
 * These strings are the data's address in a running Redis: changing one strands what is stored
 * under the old name. Keys that one script touches together share a `{hash tag}`, which puts them
 * in one Redis Cluster slot.
 */

const HOUR_S = 3600;

/** The UTC hour of a unix-seconds time, `YYYY-MM-DDTHH`: the usage hash it counts in. */
export const hourOf = (unixSeconds: number): string => new Date(Math.floor(unixSeconds / HOUR_S) * HOUR_S * 1000).toISOString().slice(0, 13);

/** Calendar month (UTC) of a unix-seconds time, `YYYY-MM`: the spend counter it counts in. */
export const monthOf = (unixSeconds: number): string => new Date(unixSeconds * 1000).toISOString().slice(0, 7);

// Jobs

/** The hash of a job record. */
export const jobRecordKey = (prefix: string, id: string): string => `${prefix}:job:${id}`;
/** The sorted set of a tenant's jobs by submit time (ms), which listings page through. */
export const tenantJobsKey = (prefix: string, tenant: string): string => `${prefix}:tenant:${tenant}:jobs`;
/** The sorted set of jobs by `expires_at` that the expiry sweep reads. */
export const deadlineIndexKey = (prefix: string): string => `${prefix}:expiry`;
/** The sorted set of jobs between their record's move and their new queue entry, by time (ms). */
export const requeuingKey = (prefix: string): string => `${prefix}:requeuing`;
/**
 * The fair-share state of one provider queue (each tenant's finish tags, each class's virtual time
 * and offset). Named after the queue's BullMQ name, whose braces put it in the queue's slot.
 */
export const fairShareKey = (prefix: string, bullQueue: string): string => `${prefix}:fair:${bullQueue}`;
/** The pub/sub channel on which API processes announce canceled job ids to every worker. */
export const cancelChannel = (prefix: string): string => `${prefix}:cancel`;
/** The pub/sub channel on which every status change of one job is announced (the new status). */
export const jobEventsChannel = (prefix: string, jobId: string): string => `${prefix}:job-events:${jobId}`;
/**
 * The Redis Stream of one streamed job: its status changes and its output deltas, in order; the
 * status scripts write it with the record. On one server it sits under the prefix like every key
 * (so an ACL on the prefix covers it). On a Cluster it must share its record's slot: a key without
 * a hash tag hashes whole, so the record's key in braces gives the same slot (and a prefix with its
 * own tag decides both already).
 */
export function jobStreamKey(prefix: string, id: string, cluster = false): string {
  const record = jobRecordKey(prefix, id);
  return !cluster || /\{[^}]+\}/.test(record) ? `${record}:stream` : `{${record}}:stream`;
}
/** A tenant's `Idempotency-Key`, by its digest (the key itself may be long): the job it made and its body's digest. */
export const idempotencyKey = (prefix: string, tenant: string, keyDigest: string): string => `${prefix}:idem:${tenant}:${keyDigest}`;

/**
 * The keys of one tenant's jobs that have not ended; one hash tag, so admitting jobs against the
 * tenant's `max_queued_jobs` is one script on one Cluster slot.
 */
export interface TenantJobKeys {
  /** Sorted set of the tenant's queued and running jobs by deadline (unix s). */
  active: string;
  /** Sorted set of the running ones among them, by deadline (unix s). */
  running: string;
}

export function tenantJobKeys(prefix: string, tenant: string): TenantJobKeys {
  const base = `${prefix}:{tenant-jobs:${tenant}}`;
  return { active: `${base}:active`, running: `${base}:running` };
}

// Batches

/** The hash of a batch record. */
export const batchKey = (prefix: string, id: string): string => `${prefix}:batch:${id}`;
/** The list of a batch's child job ids, in input order. */
export const batchChildrenKey = (prefix: string, id: string): string => `${batchKey(prefix, id)}:jobs`;
/** The list of a batch's input lines that failed validation (JSON), for its error file. */
export const batchLineErrorsKey = (prefix: string, id: string): string => `${batchKey(prefix, id)}:line-errors`;
/** The sorted set of a tenant's batches by creation time (ms). */
export const tenantBatchesKey = (prefix: string, tenant: string): string => `${prefix}:tenant:${tenant}:batches`;

// Files

/**
 * Every Redis key of one tenant's files. They share one hash tag, so each script touches a single
 * Cluster slot: an upload's chunk, its lease and the tenant's held bytes change together.
 */
export interface FileKeys {
  /** Metadata hash of a finished file. */
  meta(id: string): string;
  /** Content of a finished file (one string). */
  content(id: string): string;
  /** Content while it is being written; it lapses with the upload's lease and becomes `content` on commit. */
  partial(id: string): string;
  /** The tenant's files by creation time (seconds). */
  index: string;
  /** What the tenant holds, by deadline (ms): files until they expire, uploads until their lease lapses. */
  held: string;
  /** Bytes of each entry of `held`. */
  heldBytes: string;
  /** Sum of `heldBytes`. */
  heldTotal: string;
  /** The tenant's uploads in progress, by lease deadline (ms). */
  uploads: string;
}

export function fileKeys(prefix: string, tenant: string): FileKeys {
  const base = `${prefix}:{files:${tenant}}`;
  return {
    meta: (id) => `${base}:file:${id}`,
    content: (id) => `${base}:file:${id}:content`,
    partial: (id) => `${base}:upload:${id}`,
    index: `${base}:index`,
    held: `${base}:held`,
    heldBytes: `${base}:held-bytes`,
    heldTotal: `${base}:held-total`,
    uploads: `${base}:uploads`,
  };
}

/**
 * Where files were kept before a tenant's keys shared one hash tag. Read only (a batch created
 * before an upgrade still finds its input); they lapse by themselves within `jobs.retention_s`.
 */
export const legacyFileKeys = (prefix: string): Pick<FileKeys, 'meta' | 'content'> => ({
  meta: (id) => `${prefix}:file:${id}`,
  content: (id) => `${prefix}:file:${id}:content`,
});

// Accounting

/** The hash of an hour's usage totals, fields `tenant|provider|model|metric`, for jobs finishing at `at` (unix s). */
export const usageKey = (prefix: string, at: number): string => `${prefix}:usage:${hourOf(at)}`;
/** The UTC minute of a unix-seconds time, `YYYY-MM-DDTHH:MM`. */
export const minuteOf = (unixSeconds: number): string => new Date(Math.floor(unixSeconds / 60) * 60_000).toISOString().slice(0, 16);
/** The hash of a minute's queue waits (submit to first claim), fields `tenant|count`, `tenant|sum_ms`, `tenant|max_ms`, for claims at `at` (unix s). */
export const queueWaitKey = (prefix: string, at: number): string => `${prefix}:queue-wait:${minuteOf(at)}`;
/** A tenant's spend counter (USD) for the month of `at` (unix s). */
export const spendKey = (prefix: string, tenant: string, at: number): string => `${prefix}:spend:${tenant}:${monthOf(at)}`;

// Reliability

/** A provider's circuit breaker keys; one hash tag, so each breaker script touches one Cluster slot. */
export interface BreakerKeys {
  /** Hash: state, reason, opened_at, cooldown_ms, probe_at. */
  state: string;
  /** Sorted set of every outcome in the window, by time (ms). */
  all: string;
  /** Sorted set of the failures in the window, by time (ms). */
  failed: string;
  /** List of recent latencies (ms), newest first. */
  latency: string;
  /** Set while the provider's queue is paused for an open circuit (the worker's housekeeping). */
  paused: string;
}

export function breakerKeys(prefix: string, provider: string): BreakerKeys {
  const base = `${prefix}:{breaker:${provider}}`;
  return { state: `${base}:state`, all: `${base}:all`, failed: `${base}:failed`, latency: `${base}:latency`, paused: `${base}:paused` };
}

/** One rate limit's sliding-window keys (`key` names the limit); one hash tag, one Cluster slot. */
export interface RateKeys {
  /** Sorted set of requests by time (ms), for `rpm`. */
  requests: string;
  /** Sorted set of token charges by time (ms), for `tpm`. */
  tokenLog: string;
  /** Hash: each charge's tokens. */
  tokens: string;
  /** Sum of `tokens`. */
  sum: string;
}

export function rateKeys(prefix: string, key: string): RateKeys {
  const base = `${prefix}:{rate:${key}}`;
  return { requests: `${base}:requests`, tokenLog: `${base}:token-log`, tokens: `${base}:tokens`, sum: `${base}:token-sum` };
}

/** One tenant's webhook delivery slots; one hash tag, so each slot script touches one Cluster slot. */
export interface WebhookSlotKeys {
  /** Sorted set of the slots held now (one lease id per delivery in flight), by lease expiry (ms). */
  held: string;
  /** Sorted set of the deliveries put back to wait for a slot (by `webhook-id`), by when they are due back (ms). */
  waiting: string;
  /** String: how long a slot is held, on average (ms), which paces the waiting line. */
  hold: string;
}

export function webhookSlotKeys(prefix: string, tenant: string): WebhookSlotKeys {
  const base = `${prefix}:{webhook-slots:${tenant}}`;
  return { held: `${base}:held`, waiting: `${base}:waiting`, hold: `${base}:hold-ms` };
}

/** A lock that lets one worker process at a time do a periodic duty; it lapses if its holder dies. */
export const lockKey = (prefix: string, name: string): string => `${prefix}:lock:${name}`;

// Bounded indexes: the index names its own keys under the base given here.

/** The base of the dead letters' bounded index. */
export const deadLettersBase = (prefix: string): string => `${prefix}:{dead-letters}`;
/** The base of the failed webhook deliveries' bounded index and of their kept entries. */
export const failedDeliveriesBase = (prefix: string): string => `${prefix}:{webhooks-failed}`;
/** A kept failed delivery (JSON), by its `webhook-id`. */
export const failedDeliveryKey = (prefix: string, webhookId: string): string => `${failedDeliveriesBase(prefix)}:entry:${webhookId}`;

// Provider batches: work deferred to a provider's batch API. Every key shares the `{pbatch}` hash
// tag, so a claim moves jobs from waiting to a submission in one script.

/** The sorted set of jobs waiting for a provider batch on one provider and model, by time deferred (ms). */
export const deferredKey = (prefix: string, provider: string, model: string): string => `${prefix}:{pbatch}:deferred:${provider}/${model}`;
/** The set of `provider/model` targets that have jobs waiting for a provider batch. */
export const deferredTargetsKey = (prefix: string): string => `${prefix}:{pbatch}:targets`;
/** The hash of one submission (Sluice's key for it): provider, model, state, the provider's id, its members. */
export const providerBatchKey = (prefix: string, key: string): string => `${prefix}:{pbatch}:batch:${key}`;
/** The sorted set of submissions not yet finished, by time claimed (ms). */
export const openProviderBatchesKey = (prefix: string): string => `${prefix}:{pbatch}:open`;
/** The sorted set of deferred jobs by when they must be taken back to run in real time (unix seconds). */
export const deferredFallbackKey = (prefix: string): string => `${prefix}:{pbatch}:fallback`;

// Response cache: one tenant's keys share a hash tag, so storing an entry and bounding the tenant's
// entries is one script on one Cluster slot.

/** The keys of one tenant's response cache. */
export interface CacheKeys {
  /** A stored response (JSON), by the SHA-256 of the normalized request; expires with its TTL. */
  entry(digest: string): string;
  /** The sorted set of the tenant's entries by time stored (ms): the cap evicts from its oldest end. */
  stored: string;
  /** The sorted set of the tenant's entries by when they lapse (ms): lapsed ones stop counting toward the cap. */
  expiring: string;
}

export function cacheKeys(prefix: string, tenant: string): CacheKeys {
  const base = `${prefix}:{cache:${tenant}}`;
  return { entry: (digest) => `${base}:entry:${digest}`, stored: `${base}:stored`, expiring: `${base}:expiring` };
}
