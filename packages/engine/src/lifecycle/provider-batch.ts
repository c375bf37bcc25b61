import type { BatchLineResult, ProviderError } from '@sluice/providers';
import { getMetrics } from '@sluice/shared';
import type { Execution, FallbackReason, JobRecord } from '../jobs/job-types.ts';
import { costOf } from '../pricing/prices.ts';
import { jobLogFields } from './failover.ts';
import type { Lifecycle } from './lifecycle.ts';
import { requeueJob } from './requeue.ts';
import { attemptOf, nextStep, type NextStep } from './settle.ts';

const seconds = (ms: number): number => Math.floor(ms / 1000);

/** True while the job is a member of the provider batch `id` (not taken back, not ended). */
export const inProviderBatch = (record: JobRecord, id: string): boolean =>
  record.status === 'running' && record.execution?.mode === 'provider_batch' && record.execution.provider_batch_id === id;

/** Members of a just-submitted provider batch: `running`, with the provider's batch id on each. */
export async function markSubmitted(lifecycle: Lifecycle, records: readonly JobRecord[], providerBatchId: string, now: number): Promise<void> {
  const { store } = lifecycle.deps;
  await Promise.all(
    records.map((record) => {
      const candidate = record.routing.candidates[record.target];
      const execution: Execution = { mode: 'provider_batch', provider_batch_id: providerBatchId, submitted_at: seconds(now), fallback_reason: null };
      return store.transition(record, ['queued'], 'running', {
        started_at: record.started_at ?? seconds(now), provider: candidate?.provider ?? null, provider_model: candidate?.model ?? null, execution,
      }, record.queue_job_id);
    }),
  );
}

/**
 * A deferred job runs in real time after all (its batch failed, expired or was canceled, its line
 * failed, or its deadline came close): a queue entry on its target, the reason on its record.
 */
export async function takeBack(lifecycle: Lifecycle, record: JobRecord, reason: FallbackReason): Promise<boolean> {
  const { store, entries, deferred, logger } = lifecycle.deps;
  const candidate = record.routing.candidates[record.target];
  if (candidate !== undefined) await deferred.undefer(record.id, candidate.provider, candidate.model);
  await deferred.clearFallback([record.id]);
  // Real time, not flex: a job taken back is short of time, and flex may be slow or refuse.
  const execution: Execution = { mode: 'realtime', provider_batch_id: record.execution?.provider_batch_id ?? null, submitted_at: record.execution?.submitted_at ?? null, fallback_reason: reason };
  const moved = await requeueJob(store, entries, record, { target: record.target, tries: record.tries, from: ['queued', 'running'], fields: { execution } });
  if (moved) logger.warn({ ...jobLogFields(record), provider: candidate?.provider, reason }, 'deferred job runs in real time instead');
  return moved;
}

/** What one result line of a provider batch does to its member: success, the failure path, or real time. */
export async function settleBatchLine(lifecycle: Lifecycle, record: JobRecord, line: BatchLineResult, providerBatchId: string): Promise<NextStep | null> {
  if (!inProviderBatch(record, providerBatchId)) {
    // A line read again (a poll retried after a failure) for a job this batch already ended is no duplicate.
    const endedHere = record.status === 'succeeded' && record.execution?.mode === 'provider_batch' && record.execution.provider_batch_id === providerBatchId;
    if (line.outcome === 'succeeded' && !endedHere) discardDuplicate(lifecycle, record, line, providerBatchId);
    return null;
  }
  await lifecycle.deps.deferred.clearFallback([record.id]);
  switch (line.outcome) {
    case 'succeeded':
      return lineSucceeded(lifecycle, record, line);
    case 'errored':
      return lineFailed(lifecycle, record, line.error);
    case 'expired':
      await takeBack(lifecycle, record, 'batch_expired');
      return nextStep('retry', 'batch_expired');
    case 'canceled':
      await takeBack(lifecycle, record, 'canceled_batch');
      return nextStep('retry', 'canceled_batch');
  }
}

async function lineSucceeded(lifecycle: Lifecycle, record: JobRecord, line: Extract<BatchLineResult, { outcome: 'succeeded' }>): Promise<NextStep | null> {
  const candidate = record.routing.candidates[record.target];
  if (candidate === undefined) return null;
  const { completion, statusCode } = line.result;
  const usage = completion.usage ?? null;
  const startedAt = (record.execution?.submitted_at ?? seconds(Date.now())) * 1000;
  const latencyMs = Date.now() - startedAt;
  const cost = costOf(usage, lifecycle.deps.price(candidate.provider, candidate.model), `${candidate.provider}/${candidate.model}`, 'provider_batch');
  const finished = await lifecycle.succeed({
    record, entry: record.queue_job_id, candidate, result: completion, usage, cost, latencyMs, startedAt, breaker: false, mode: 'provider_batch',
    attempt: attemptOf(candidate, startedAt, latencyMs, 'succeeded', statusCode, null),
    correctTokens: null,
  });
  lifecycle.deps.logger.info(
    { ...jobLogFields(record), provider: candidate.provider, model: candidate.model, execution: 'provider_batch', cost_usd: cost.usd, saved_usd: cost.details.saved_usd ?? null, outcome: finished.ok ? 'succeeded' : finished.previous },
    'job finished',
  );
  return finished.ok ? { step: 'succeeded', reason: null, costUsd: cost.usd } : nextStep('ended', `${finished.previous ?? 'changed'} during the batch`);
}

/** A failed line goes down the job's ordinary failure path, in real time. */
async function lineFailed(lifecycle: Lifecycle, record: JobRecord, error: ProviderError): Promise<NextStep> {
  const candidate = record.routing.candidates[record.target];
  const provider = candidate === undefined ? undefined : lifecycle.deps.config.providers[candidate.provider];
  // A line has no queue entry BullMQ could hold back, so a rate limit or an abort just runs it again now.
  if (candidate === undefined || provider === undefined || error.kind === 'rate_limited' || error.kind === 'canceled') {
    await takeBack(lifecycle, record, 'line_error');
    return nextStep('retry', 'line_error');
  }
  const execution: Execution = { ...(record.execution ?? { mode: 'provider_batch', provider_batch_id: null, submitted_at: null }), fallback_reason: 'line_error' };
  await lifecycle.deps.store.update(record.id, { execution: { ...execution, mode: 'realtime' } });
  const startedAt = (record.execution?.submitted_at ?? seconds(Date.now())) * 1000;
  return lifecycle.settle(
    {
      record, entry: record.queue_job_id, candidate, retry: provider.retry, startedAt, latencyMs: Date.now() - startedAt, price: lifecycle.deps.price,
      onCircuitOpened: () => undefined, fromBatch: true, log: { ...jobLogFields(record), provider: candidate.provider, model: candidate.model, execution: 'provider_batch' },
    },
    { ok: false, error },
  );
}

/** A result for a member that already ran otherwise (taken back, canceled): the provider bills it anyway. */
function discardDuplicate(lifecycle: Lifecycle, record: JobRecord, line: Extract<BatchLineResult, { outcome: 'succeeded' }>, providerBatchId: string): void {
  const candidate = record.routing.candidates[record.target];
  const target = candidate === undefined ? 'unknown' : `${candidate.provider}/${candidate.model}`;
  const price = candidate === undefined ? null : lifecycle.deps.price(candidate.provider, candidate.model);
  const wasted = costOf(line.result.completion.usage ?? null, price, target, 'provider_batch').usd ?? 0;
  if (wasted > 0) {
    getMetrics().wasted.inc({ provider: candidate?.provider ?? 'none', tenant: record.tenant }, wasted);
    void lifecycle.deps.usage
      .wasted({ tenant: record.tenant, provider: candidate?.provider ?? '', model: candidate?.model ?? '', usd: wasted, at: Math.floor(Date.now() / 1000) })
      .catch((error: Error) => lifecycle.deps.logger.warn({ ...jobLogFields(record), err: error.message }, 'could not count a discarded result in usage'));
  }
  lifecycle.deps.logger.warn({ ...jobLogFields(record), provider_batch_id: providerBatchId, wasted_usd: wasted, status: record.status }, 'provider batch result arrived for a job that already ran otherwise: discarded');
}
