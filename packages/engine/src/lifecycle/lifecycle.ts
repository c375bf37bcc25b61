import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { isCluster, type ChatCompletion, type GatewayConfig, type Logger, type Usage } from '@sluice/shared';
import type { BatchStore } from '../batches/batch-store.ts';
import { cancelChannel, jobStreamKey } from '../keys.ts';
import type { JobFields, JobStore, TransitionResult } from '../jobs/job-store.ts';
import { callsMade, type Attempt, type CostDetails, type JobError, type JobRecord, type JobStatus, type RoutingCandidate, type WebhookDelivery, type WebhookStatus } from '../jobs/job-types.ts';
import type { DeadLetterStore } from '../queues/dead-letters.ts';
import type { QueuedJobData } from '../queues/payloads.ts';
import type { EntryWriter } from '../queues/entries.ts';
import type { Breaker } from '../reliability/breaker.ts';
import type { CircuitView } from '../reliability/circuit-view.ts';
import type { SpendLedger } from '../reliability/spend.ts';
import type { UsageStore } from '../usage/usage-store.ts';
import type { DeferredStore } from '../deferred/deferred-store.ts';
import type { PriceLookup } from '../pricing/prices.ts';
import { inProviderBatch, markSubmitted, settleBatchLine, takeBack } from './provider-batch.ts';
import type { BatchLineResult } from '@sluice/providers';
import type { FallbackReason } from '../jobs/job-types.ts';
import { announceJobEnded, countBilled, enqueueJobWebhook, recordUsage } from './announce.ts';
import { modelCatalog } from '../metrics/model-labels.ts';
import { submitCached } from './cache.ts';
import type { ResponseCache } from '../cache/response-cache.ts';
import type { TenantJobs } from '../tenants/tenant-jobs.ts';
import { failJob, failoverJob, type FailoverRequest } from './failover.ts';
import { recordSuccess, type SuccessInput } from './record-success.ts';
import { repairEntry, repairStuckRequeues, requeueJob } from './requeue.ts';
import { settleCall, type Call, type CallOutcome, type NextStep } from './settle.ts';
import { submitJobs } from './submit.ts';
import type { Succeeder } from './succeed.ts';

/** Everything a job's transitions write to: its record, its queues, the tenant's spend, usage and batches. */
export interface LifecycleDeps {
  config: GatewayConfig;
  /** The stores' connection (cancel announcements, corked writes). */
  redis: Redis;
  /** The records and the queue entries share one connection to one server, so they arrive in order. */
  orderedWrites: boolean;
  store: JobStore;
  queues: ReadonlyMap<string, Queue<QueuedJobData>>;
  /** Writes entries on the provider queues, placed by fair share between tenants. */
  entries: EntryWriter;
  letters: DeadLetterStore;
  spend: SpendLedger;
  usage: UsageStore;
  batches: BatchStore;
  webhooks: Queue;
  batchQueue: Queue;
  breaker: Breaker;
  circuits: CircuitView;
  succeeder: Succeeder;
  /** Jobs deferred to providers' batch APIs. */
  deferred: DeferredStore;
  price: PriceLookup;
  /** Answers stored for jobs that asked for caching. */
  cache: ResponseCache;
  /** Each tenant's queued and running jobs (the store files them at every status change). */
  tenantJobs: TenantJobs;
  logger: Logger;
}

export const DEADLINE_EXCEEDED: JobError = { type: 'job_error', code: 'deadline_exceeded', message: 'the job did not finish before expires_at' };

/** How a streamed job whose stream broke ends: its error, the text sent, and the estimated usage and cost. */
export interface Interrupted {
  error: JobError;
  result: ChatCompletion | null;
  usage: Usage;
  costUsd: number | null;
  costDetails: CostDetails;
}

export interface EndOptions {
  to: 'canceled' | 'expired';
  error: JobError;
  /** Statuses it may end from. Default queued and running. */
  from?: readonly JobStatus[];
  /** The queue entry the caller holds, when it holds one: the end happens only while it is the live one. */
  guard?: string;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * A job's life, as named transitions. They are the only writers of a job record (every status
 * change is guarded, so two processes never both move one job) and the one place where a job's
 * budget reservation is settled: with the real cost on success, released on every other end.
 */
export class Lifecycle {
  constructor(readonly deps: LifecycleDeps) {}

  /** Writes new jobs' records, then their queue entries; on a failed add, removes them and releases what they reserved. */
  submit(records: readonly JobRecord[]): Promise<void> {
    return submitJobs(this.deps, records, (record) => this.settleReservation(record, null), (deferred) => this.defer(deferred));
  }

  /** A job answered from the response cache: its record written already succeeded, then announced like any end. */
  submitCached(record: JobRecord): Promise<void> {
    return submitCached(this, record);
  }

  /** Jobs whose mode is `provider_batch` wait for a submission (and are taken back `fallback_before_s` before their deadline). */
  private async defer(records: readonly JobRecord[]): Promise<void> {
    const { config, deferred } = this.deps;
    await deferred.defer(records.map((record) => {
      const candidate = record.routing.candidates[record.target];
      const fallbackBefore = config.providers[candidate?.provider ?? '']?.batch.fallback_before_s ?? 0;
      return { id: record.id, provider: candidate?.provider ?? '', model: candidate?.model ?? '', fallbackAt: record.expires_at - fallbackBefore };
    }));
  }

  /** Deferred jobs submitted in the provider batch `providerBatchId`: they run at the provider now. */
  batchSubmitted(records: readonly JobRecord[], providerBatchId: string): Promise<void> {
    return markSubmitted(this, records, providerBatchId, Date.now());
  }

  /** True while the job is a member of the provider batch `providerBatchId` (not taken back, not ended). */
  inProviderBatch(record: JobRecord, providerBatchId: string): boolean {
    return inProviderBatch(record, providerBatchId);
  }

  /** A deferred job runs in real time after all, with the reason on its record. */
  takeBack(record: JobRecord, reason: FallbackReason): Promise<boolean> {
    return takeBack(this, record, reason);
  }

  /** One result line of the provider batch `providerBatchId` ends its member (once) or sends it down the failure path; null for a line of a job it no longer holds. */
  settleBatchLine(record: JobRecord, line: BatchLineResult, providerBatchId: string): Promise<NextStep | null> {
    return settleBatchLine(this, record, line, providerBatchId);
  }

  /** The worker takes the job: `running`, on the target it was queued for, while `entry` is its live entry. */
  claim(record: JobRecord, entry: string, candidate: RoutingCandidate, now: number): Promise<TransitionResult> {
    return this.deps.store.transition(record, ['queued', 'running'], 'running', {
      started_at: record.started_at ?? seconds(now),
      provider: candidate.provider,
      provider_model: candidate.model,
      running_since: now,
    }, entry);
  }

  /** A claimed job goes back to waiting on the same entry (its provider asked to slow down). */
  async unclaim(record: JobRecord, entry: string): Promise<void> {
    await this.deps.store.transition(record, ['running'], 'queued', { running_since: null }, entry);
  }

  /** A provider call that did not succeed, on the job's history. */
  async noteAttempt(record: JobRecord, attempt: Attempt): Promise<void> {
    await this.deps.store.appendAttempt(record.id, attempt);
  }

  /** The call succeeded: result, usage, cost and the attempt, settled against the reservation, then announced. */
  succeed(input: SuccessInput): Promise<TransitionResult> {
    return recordSuccess(this, input);
  }

  /** The one place a provider call's outcome becomes the job's next step: success, retry, failover, pause or failure. */
  settle(call: Call, outcome: CallOutcome): Promise<NextStep> {
    return settleCall(this, call, outcome);
  }

  /** Another try on the same target after `delayMs`, as a new queue entry. */
  retry(record: JobRecord, tries: number, delayMs: number): Promise<boolean> {
    return requeueJob(this.deps.store, this.deps.entries, record, { target: record.target, tries, from: ['running'], delayMs });
  }

  /** A flex job whose deadline is near runs again at once in the provider's default tier. */
  async leaveFlex(record: JobRecord, entry: string): Promise<boolean> {
    const execution = { ...(record.execution ?? { provider_batch_id: null, submitted_at: null, fallback_reason: null }), mode: 'realtime' as const };
    return requeueJob(this.deps.store, this.deps.entries, { ...record, queue_job_id: entry }, { target: record.target, tries: record.tries, from: ['running'], fields: { execution } });
  }

  /** Moves the job to its next target, starts another round, or fails it when no target is left. */
  failover(record: JobRecord, request: FailoverRequest): Promise<void> {
    return failoverJob(this, record, request);
  }

  /** Moves a waiting job to another target (its circuit opened); false when it changed meanwhile. */
  move(record: JobRecord, target: number, reason: string): Promise<boolean> {
    return requeueJob(this.deps.store, this.deps.entries, record, { target, tries: 0, from: ['queued'], reason });
  }

  /** Ends the job as failed (into the dead letters when every target is used up). */
  fail(record: JobRecord, error: JobError, guard: string, deadLetter: boolean): Promise<void> {
    return failJob(this, record, error, guard, deadLetter);
  }

  /**
   * Ends a streamed job whose provider stream broke after its first chunk: failed, with what was
   * sent as its `result` and the estimated usage and cost, settled against the budget.
   */
  async interrupt(record: JobRecord, guard: string, ended: Interrupted): Promise<void> {
    const failed = await this.deps.store.transition(record, ['running'], 'failed', {
      completed_at: seconds(Date.now()), running_since: null, error: ended.error, result: ended.result, usage: ended.usage,
      cost_usd: ended.costUsd, cost_details: ended.costDetails, provider: record.routing.candidates[record.target]?.provider ?? null,
      provider_model: record.routing.candidates[record.target]?.model ?? null,
    }, guard);
    if (!failed.ok) {
      // Canceled or expired while the stream broke: what was sent is billed all the same.
      if (failed.previous === 'canceled' || failed.previous === 'expired') await this.chargeAbandoned(record, ended);
      return;
    }
    await this.settleReservation(record, ended.costUsd);
    await this.announce(record.id);
  }

  /**
   * Gives a streamed job whose first chunk has gone out until `expiresAt` to finish: a synchronous
   * stream's deadline bounds the wait for its first chunk, not the stream (the provider call's own
   * timeout bounds that). Never shortens a deadline.
   */
  async extendDeadline(record: JobRecord, expiresAt: number): Promise<void> {
    if (expiresAt <= record.expires_at) return;
    const { store, tenantJobs } = this.deps;
    await Promise.all([
      store.update(record.id, { expires_at: expiresAt }), store.keepUntil(record.id, expiresAt), store.scheduleExpiry(record.id, expiresAt), tenantJobs.extend(record.tenant, record.id, expiresAt),
    ]);
  }

  /**
   * Bills a streamed job that was canceled or expired after its client had part of the answer (the
   * provider bills what it generated): the text sent, the estimated usage and cost go on the ended
   * record, into the tenant's spend and the usage totals.
   */
  async chargeAbandoned(record: JobRecord, charge: Omit<Interrupted, 'error'>): Promise<void> {
    const { store, spend } = this.deps;
    const candidate = record.routing.candidates[record.target];
    const charged = await store.charge(record.id, ['canceled', 'expired'], {
      result: charge.result, usage: charge.usage, cost_usd: charge.costUsd, cost_details: charge.costDetails,
      provider: candidate?.provider ?? null, provider_model: candidate?.model ?? null,
    });
    if (!charged) return; // billed already, or it did not end that way
    if (charge.costUsd !== null && charge.costUsd !== 0) await spend.adjust(record.tenant, record.created_at, charge.costUsd);
    const ended = await store.get(record.id);
    if (ended === null) return;
    const models = modelCatalog(this.deps.config);
    countBilled(ended, models);
    await recordUsage(this.deps, ended, models);
  }


  /** Ends the job after `jobs.max_attempts` provider calls. */
  failMaxAttempts(record: JobRecord, guard: string, lastError: string): Promise<void> {
    const max = this.deps.config.jobs.max_attempts;
    const message = `the job made ${max} provider calls (jobs.max_attempts) without success; last error: ${lastError}`;
    return failJob(this, record, { type: 'provider_error', code: 'max_attempts_exceeded', message }, guard, true);
  }

  /**
   * Ends a job that has not finished (a client's cancel, a batch cancel, the deadline): the guarded
   * status change, then its queue entry dropped (a worker that still picks it sees the record and skips
   * it), a running provider call aborted on whichever worker holds it, its reservation released, and
   * its end announced.
   */
  async end(record: JobRecord, options: EndOptions): Promise<TransitionResult> {
    const { store, queues, redis, config } = this.deps;
    const outcome = await store.transition(record, options.from ?? ['queued', 'running'], options.to, {
      completed_at: seconds(Date.now()),
      running_since: null,
      error: options.error,
    }, options.guard);
    if (!outcome.ok) return outcome;
    const provider = record.routing.candidates[record.target]?.provider ?? '';
    if (record.execution?.mode === 'provider_batch') await this.deps.deferred.undefer(record.id, provider, record.routing.candidates[record.target]?.model ?? '');
    await Promise.all([
      options.guard === undefined ? queues.get(provider)?.remove(record.queue_job_id).catch(() => 0) : undefined,
      // A caller holding the live entry (the processor) is the only one running the job: nothing to abort.
      options.guard === undefined && outcome.previous === 'running' ? redis.publish(cancelChannel(config.redis.prefix), record.id) : undefined,
      this.settleReservation(record, null),
    ]);
    await this.announce(record.id);
    return outcome;
  }

  /** What follows a terminal status: metrics, usage, the webhook, the batch's counts. */
  announce(job: string | JobRecord, options: { accounted?: boolean } = {}): Promise<void> {
    return announceJobEnded(this.deps, job, options);
  }

  /**
   * A dead letter runs again on `target` with a fresh deadline of its original length, its calls so
   * far not counted towards `jobs.max_attempts`, and its estimate reserved again.
   */
  async replay(record: JobRecord, target: number): Promise<boolean> {
    const { store, spend, letters } = this.deps;
    const now = seconds(Date.now());
    const expiresAt = now + Math.max(1, record.expires_at - record.created_at);
    const reserved = record.routing.candidates[target]?.est_cost_usd ?? 0;
    const fields: JobFields = { error: null, completed_at: null, expires_at: expiresAt, reserved_usd: reserved, replayed_calls: record.replayed_calls + callsMade(record) };
    // A streamed job's new run streams afresh: readers from the start must not stop at the old end.
    if (record.stream !== null) await this.deps.redis.del(jobStreamKey(this.deps.config.redis.prefix, record.id, isCluster(this.deps.redis)));
    const moved = await requeueJob(store, this.deps.entries, record, { target, tries: 0, from: ['failed'], reason: 'replay', exhausted: [], refused: [], fields });
    if (moved) await Promise.all([store.keepUntil(record.id, expiresAt), store.scheduleExpiry(record.id, expiresAt), spend.adjust(record.tenant, record.created_at, reserved), letters.replayed(record)]);
    return moved;
  }

  /** Queues the webhook of an ended job again (a redelivery keeps its `webhookId`). */
  redeliver(record: JobRecord, webhookId?: string): Promise<void> {
    return enqueueJobWebhook(this.deps, record, webhookId);
  }

  /** One attempt to deliver the job's webhook, on its history. */
  async noteDelivery(jobId: string, delivery: WebhookDelivery): Promise<void> {
    await this.deps.store.appendDelivery(jobId, delivery);
  }

  /** Where the job's webhook stands: delivered, failed for good, or pending (about to be delivered again). */
  async webhookStatus(jobId: string, status: WebhookStatus): Promise<void> {
    await this.deps.store.update(jobId, { webhook_status: status });
  }

  /** Re-creates the queue entry a record names when a crash or a refused write left it unwritten. */
  repairEntry(record: JobRecord): Promise<boolean> {
    return repairEntry(this.deps.entries, record);
  }

  /** Writes the entries of moves that did not finish `graceMs` ago; returns the jobs repaired. */
  repairStuckMoves(graceMs: number): Promise<string[]> {
    return repairStuckRequeues(this.deps.store, this.deps.entries, graceMs);
  }

  /**
   * Settles what the job reserved of its tenant's budget: the real cost replaces the estimate (0
   * when it never succeeded). The success script does the same inside Redis (`spend-adjust.lua`).
   */
  async settleReservation(record: JobRecord, costUsd: number | null): Promise<void> {
    const delta = (costUsd ?? 0) - record.reserved_usd;
    if (delta !== 0) await this.deps.spend.adjust(record.tenant, record.created_at, delta);
  }
}
