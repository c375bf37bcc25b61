import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/**
 * Every Lua script Sluice runs, laid out like BullMQ's commands: one file per script under `lua/`,
 * with a header naming its KEYS and ARGV, and fragments shared by several scripts under
 * `lua/includes/`, pulled in by a `--!include includes/name.lua` line. Each script's keys are in
 * one Redis Cluster slot (they share a hash tag), or the caller runs it only on a single server.
 */

/** A file script's answer: `ok` with numbers, or a refusal code with the seconds after which to retry. */
export type ScriptReply = [code: string, ...values: number[]];

/** A job or batch status move: {1, previous} when done, {0, current} when refused, null when there is no such record. */
type Moved = Promise<[number, string] | null>;
type Arg = string | number;

/** One row of the table: its file, how many of its arguments are KEYS, and (in the type only) its call. */
interface Command<Call> {
  file: string;
  keys: number;
  /** Never set: carries the call's TypeScript signature. */
  signature?: Call;
}

const command = <Call extends (...args: never[]) => Promise<unknown>>(file: string, keys: number): Command<Call> => ({ file, keys });

/** Every command: its name on the connection, its `lua/` file, its number of KEYS, and its signature (KEYS first). */
export const COMMANDS = {
  sluiceJobCreate: command<(job: string, tenantIndex: string, expiry: string, stream: string, tenantActive: string, ...args: Arg[]) => Promise<number>>('job-create.lua', 5),
  sluiceJobTransition: command<(job: string, stream: string, from: string, to: string, guard: string, channel: string, streamRetentionMs: number, ...fields: string[]) => Moved>(
    'job-transition.lua',
    2,
  ),
  sluiceJobTransitionTracked: command<
    (job: string, stream: string, tenantActive: string, tenantRunning: string, from: string, to: string, guard: string, channel: string, id: string, streamRetentionMs: number, ...fields: string[]) => Moved
  >('job-transition-tracked.lua', 4),
  sluiceJobUpdate: command<(job: string, ...fields: string[]) => Promise<number>>('job-update.lua', 1),
  sluiceJobCharge: command<(job: string, allowed: string, ...fields: string[]) => Promise<number>>('job-charge.lua', 1),
  sluiceJobKeep: command<(job: string, ttlMs: number) => Promise<number>>('job-keep.lua', 1),
  sluiceExpiryClear: command<(expiry: string, due: number, ...ids: string[]) => Promise<number>>('expiry-clear.lua', 1),
  sluiceJobAppend: command<(job: string, list: string, entry: string) => Promise<number>>('job-append.lua', 1),
  sluiceJobSucceed: command<(job: string, usage: string, spend: string, deadlines: string, stream: string, tenantActive: string, tenantRunning: string, cacheEntry: string, cacheStored: string, cacheExpiring: string, ...args: Arg[]) => Moved>('job-succeed.lua', 10),
  sluiceTenantJobsTrack: command<(active: string, running: string, id: string, status: string, deadline: number) => Promise<number>>('tenant-jobs-track.lua', 2),
  sluiceTenantJobsAdmit: command<(active: string, now: number, cap: number, deadline: number, ...ids: string[]) => Promise<[number, number]>>('tenant-jobs-admit.lua', 1),

  sluiceBatchChildEnded: command<(batch: string, counter: string, now: number) => Promise<number>>('batch-child-ended.lua', 1),
  sluiceBatchExpanded: command<(batch: string, total: number, now: number) => Promise<number>>('batch-expanded.lua', 1),
  sluiceBatchTransition: command<(batch: string, from: string, to: string, ...fields: Arg[]) => Promise<string | null>>('batch-transition.lua', 1),
  sluiceBatchUpdate: command<(batch: string, ...args: Arg[]) => Promise<number>>('batch-update.lua', 1),

  sluiceQueueWaitAdd: command<(minute: string, ttlSeconds: number, ...args: Arg[]) => Promise<number>>('queue-wait-add.lua', 1),
  sluiceUsageRecord: command<(hour: string, ...args: Arg[]) => Promise<number>>('usage-record.lua', 1),
  sluiceSpendReserve: command<(month: string, amount: number, budget: number, ttlSeconds: number) => Promise<[number, string]>>('spend-reserve.lua', 1),
  sluiceSpendAdjust: command<(month: string, amount: number, ttlSeconds: number) => Promise<number>>('spend-adjust.lua', 1),

  sluiceBreakerRecord: command<(state: string, all: string, failed: string, latency: string, ...args: Arg[]) => Promise<number>>('breaker-record.lua', 4),
  sluiceBreakerForceOpen: command<(state: string, ...args: Arg[]) => Promise<number>>('breaker-force-open.lua', 1),
  sluiceBreakerBeginProbe: command<(state: string, ...args: Arg[]) => Promise<number>>('breaker-begin-probe.lua', 1),
  sluiceBreakerEndProbe: command<(state: string, all: string, failed: string, ...args: Arg[]) => Promise<number>>('breaker-end-probe.lua', 3),
  sluiceRateAcquire: command<(requests: string, tokenLog: string, tokens: string, sum: string, ...args: Arg[]) => Promise<number>>('rate-acquire.lua', 4),
  sluiceRateCorrect: command<(tokens: string, sum: string, ...args: Arg[]) => Promise<number>>('rate-correct.lua', 2),

  sluiceFairTag: command<(state: string, prioritized: string, active: string, delayed: string, ...args: Arg[]) => Promise<number[]>>('fair-tag.lua', 4),

  sluiceWebhookSlotAcquire: command<
    (held: string, waiting: string, hold: string, leaseId: string, webhookId: string, now: number, leaseMs: number, limit: number, defaultHoldMs: number, minWaitMs: number, maxWaitMs: number, jitter: number) => Promise<[number, number]>
  >('webhook-slot-acquire.lua', 3),
  sluiceWebhookSlotRelease: command<(held: string, hold: string, leaseId: string, heldMs: number, keepMs: number) => Promise<number>>('webhook-slot-release.lua', 2),

  sluiceLockRelease: command<(lock: string, token: string) => Promise<number>>('lock-release.lua', 1),
  sluicePbatchClaim: command<(deferred: string, batch: string, open: string, targets: string, max: number, now: number, provider: string, model: string, key: string) => Promise<string[]>>('pbatch-claim.lua', 4),

  sluiceCacheStore: command<(entry: string, stored: string, expiring: string, digest: string, value: string, ttlMs: number, now: number, cap: number, indexTtlMs: number) => Promise<string[]>>('cache-store.lua', 3),

  sluicePage: command<(sortedSet: string, after: string, count: number) => Promise<string[] | null>>('page-after.lua', 1),
  sluiceBoundedAdd: command<(tenantIndex: string, allIndex: string, member: string, now: number, oldest: number, cap: number, ageMs: number) => Promise<string[]>>('bounded-index-add.lua', 2),

  sluiceFileBeginUpload: command<(uploads: string, held: string, heldBytes: string, heldTotal: string, id: string, now: number, leaseMs: number, maxUploads: number, maxBytes: number) => Promise<ScriptReply>>('file-begin-upload.lua', 4),
  sluiceFileAppendUpload: command<(uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, id: string, now: number, leaseMs: number, maxBytes: number, chunk: Buffer) => Promise<ScriptReply>>('file-append-upload.lua', 5),
  sluiceFileRenewUpload: command<(uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, id: string, now: number, leaseMs: number) => Promise<number>>('file-renew-upload.lua', 5),
  sluiceFileAbortUpload: command<(uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, id: string) => Promise<number>>('file-abort-upload.lua', 5),
  sluiceFileCommit: command<
    (
      uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, content: string, meta: string, index: string,
      id: string, now: number, mode: 'upload' | 'counted' | 'uncounted', maxBytes: number, retentionS: number, tenant: string, filename: string, purpose: string,
    ) => Promise<ScriptReply>
  >('file-commit.lua', 8),
  sluiceFileDelete: command<(meta: string, content: string, index: string, held: string, heldBytes: string, heldTotal: string, id: string) => Promise<number>>('file-delete.lua', 6),
};

export type CommandName = keyof typeof COMMANDS;

/** The commands as a connection runs them (by EVALSHA, and with the source when Redis lacks it). */
export type Scripts = { readonly [Name in CommandName]: NonNullable<(typeof COMMANDS)[Name]['signature']> };

/** A script's source from `lua/`, each `--!include` line replaced by that file (itself expanded), each file once. */
export function scriptSource(file: string, included = new Set<string>()): string {
  const text = readFileSync(new URL(`./lua/${file}`, import.meta.url), 'utf8');
  return text.replace(/^--!include ([a-z/-]+\.lua)$/gm, (_line, name: string) => {
    if (included.has(name)) return '';
    included.add(name);
    return scriptSource(name, included);
  });
}

/** Sources are read once per process: every connection defines the same scripts. */
let sources: Map<CommandName, string> | undefined;
const defined = new WeakSet<Redis>();

/** Defines every command on `redis` once (later calls only return them), typed. */
export function defineScripts(redis: Redis): Scripts {
  if (!defined.has(redis)) {
    sources ??= new Map((Object.keys(COMMANDS) as CommandName[]).map((name) => [name, scriptSource(COMMANDS[name].file)]));
    for (const [name, lua] of sources) redis.defineCommand(name, { numberOfKeys: COMMANDS[name].keys, lua });
    defined.add(redis);
  }
  // ioredis adds each defined command as a method of the connection; this is the one place that says so.
  return redis as unknown as Scripts;
}
