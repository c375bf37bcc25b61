import { randomUUID } from 'node:crypto';
import type { BatchAdapter, BatchLineResult, BatchRequest, ProviderAdapter, ProviderBatchStatus } from '@sluice/providers';
import { getMetrics } from '@sluice/shared';
import { isTerminal, type Engine, type FallbackReason, type JobRecord, type ProviderBatchMembers, type ProviderBatchRecord } from '@sluice/engine';
import type { DutyLock } from '../housekeeping/duty-lock.ts';

export type BatcherDeps = Pick<Engine, 'config' | 'logger' | 'store' | 'lifecycle' | 'deferred' | 'breaker' | 'circuits'> & {
  adapters: ReadonlyMap<string, ProviderAdapter>;
  lock: DutyLock;
};

/**
 * A submission still without the provider's id this long after its claim was cut short (its
 * worker died): the submit call itself gives up after the provider's `timeout_ms`.
 */
const submitGraceMs = (deps: BatcherDeps, provider: string): number => (deps.config.providers[provider]?.timeout_ms ?? 60_000) + 5_000;
/** Result lines ended at once (each is a few Redis round trips). */
const LINES_AT_ONCE = 32;
/** How long a finished submission's record is kept, for the log trail. */
const FINISHED_KEEP_S = 86_400;

/** Why members a finished provider batch gave no line for run in real time. */
const reasonOf = (state: ProviderBatchStatus['state']): FallbackReason => (state === 'expired' ? 'batch_expired' : state === 'canceled' ? 'canceled_batch' : 'batch_failed');

/**
 * Provider batches, as periodic duties any worker can do (one at a time through locks): submit what
 * waits once a target has `batch.max_requests` jobs or its oldest waited `batch.max_wait_s`; find or
 * resubmit submissions cut short by a crash; poll open ones every `batch.poll_interval_s` and end
 * each member with its result line; take back jobs whose deadline comes within `fallback_before_s`.
 */
export function createProviderBatcher(deps: BatcherDeps): () => Promise<void> {
  return async () => {
    await takeBackDue(deps);
    await flush(deps);
    const open = await deps.deferred.open();
    for (const batch of open) {
      if (batch.state === 'submitting') await recover(deps, batch);
      else await poll(deps, batch);
    }
    await countOpen(deps, open);
  };
}

const batchApiOf = (deps: BatcherDeps, provider: string): BatchAdapter | undefined => deps.adapters.get(provider)?.batch;

/** Submits each target's waiting jobs once enough wait or the oldest waited long enough. */
async function flush(deps: BatcherDeps): Promise<void> {
  const now = Date.now();
  const openCircuits = await deps.circuits.openProviders(true);
  for (const { provider, model, count, oldestMs } of await deps.deferred.waiting()) {
    const settings = deps.config.providers[provider]?.batch;
    // An open circuit holds deferred jobs until the provider recovers (or their deadline takes them back).
    if (settings === undefined || batchApiOf(deps, provider) === undefined || oldestMs === null || openCircuits.has(provider)) continue;
    if (count < settings.max_requests && now - oldestMs < settings.max_wait_s * 1000) continue;
    const lock = `pbatch-submit:${provider}/${model}`;
    if (!(await deps.lock(lock, 300_000))) continue;
    try {
      await claimAndSubmit(deps, provider, model, settings.max_requests);
    } finally {
      await deps.lock.release(lock);
    }
  }
}

async function claimAndSubmit(deps: BatcherDeps, provider: string, model: string, max: number): Promise<void> {
  const key = `sluice_${randomUUID().replaceAll('-', '')}`;
  if ((await deps.deferred.claim(provider, model, max, key)).length === 0) return;
  const batch = await deps.deferred.get(key);
  if (batch !== null) await submit(deps, batch);
}

/** The members still waiting for this submission (not canceled or taken back meanwhile). */
async function waitingMembers(deps: BatcherDeps, batch: ProviderBatchMembers): Promise<JobRecord[]> {
  const records = await Promise.all(batch.members.map((id) => deps.store.get(id)));
  return records.filter((record): record is JobRecord => record !== null && record.status === 'queued' && record.execution?.mode === 'provider_batch' && record.execution.provider_batch_id === null);
}

/** Sends a claimed submission to the provider; on failure its members run in real time. */
async function submit(deps: BatcherDeps, batch: ProviderBatchMembers): Promise<void> {
  const api = batchApiOf(deps, batch.provider);
  const members = await waitingMembers(deps, batch);
  if (api === undefined || members.length === 0) {
    await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
    return;
  }
  const requests: BatchRequest[] = members.map((record) => ({ custom_id: record.id, request: { model: batch.model, messages: record.request.messages, params: record.request.params } }));
  try {
    const id = await api.submit(batch.key, requests);
    await submitted(deps, batch, id, members);
  } catch (error) {
    await deps.breaker.record(batch.provider, false, null);
    deps.logger.warn({ provider: batch.provider, model: batch.model, key: batch.key, jobs: members.length, err: (error as Error).message }, 'provider batch submission failed: its jobs run in real time');
    await Promise.all(members.map((record) => deps.lifecycle.takeBack(record, 'batch_failed')));
    await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
  }
}

async function submitted(deps: BatcherDeps, batch: ProviderBatchRecord, id: string, members: readonly JobRecord[]): Promise<void> {
  await deps.deferred.submitted(batch.key, id);
  await deps.lifecycle.batchSubmitted(members, id);
  deps.logger.info({ provider: batch.provider, model: batch.model, provider_batch_id: id, key: batch.key, jobs: members.length }, 'provider batch submitted');
}

/** A submission whose worker died before writing the provider's id: found by its key, or submitted now. */
async function recover(deps: BatcherDeps, open: ProviderBatchRecord): Promise<void> {
  const api = batchApiOf(deps, open.provider);
  if (api === undefined || Date.now() - open.claimedAt < submitGraceMs(deps, open.provider)) return;
  if (!(await deps.lock(`pbatch-submit:${open.key}`, 60_000))) return;
  const batch = await deps.deferred.get(open.key);
  if (batch === null) return;
  const found = await api.find(batch.key).catch(() => null);
  if (found === null) {
    await submit(deps, batch);
    return;
  }
  await submitted(deps, batch, found, await waitingMembers(deps, batch));
}

/** Polls one open provider batch when its interval has passed; once it is done, ends each member with its line. */
async function poll(deps: BatcherDeps, open: ProviderBatchRecord): Promise<void> {
  const api = batchApiOf(deps, open.provider);
  const interval = (deps.config.providers[open.provider]?.batch.poll_interval_s ?? 30) * 1000;
  if (api === undefined || open.id === null || Date.now() - open.polledAt < interval) return;
  // Held while this poll works (reading a large batch's results takes a while), given up after it.
  const lock = `pbatch-poll:${open.key}`;
  if (!(await deps.lock(lock, 300_000))) return;
  try {
    await pollOnce(deps, api, open, open.id);
  } finally {
    await deps.lock.release(lock);
  }
}

async function pollOnce(deps: BatcherDeps, api: BatchAdapter, open: ProviderBatchRecord, id: string): Promise<void> {
  const batch = await deps.deferred.get(open.key);
  if (batch === null) return;
  await deps.deferred.polled(batch.key, Date.now());
  const status = await api.status(id).catch(async (error: Error) => {
    await deps.breaker.record(batch.provider, false, null);
    deps.logger.warn({ provider: batch.provider, provider_batch_id: id, err: error.message }, 'polling a provider batch failed; next poll retries');
    return null;
  });
  if (status === null) return;
  if (status.state === 'in_progress') await cancelWhenAllEnded(deps, api, batch);
  else await readResults(deps, api, batch, status);
}

/** Every member ended (canceled by their clients): the provider batch is canceled too. */
async function cancelWhenAllEnded(deps: BatcherDeps, api: BatchAdapter, batch: ProviderBatchMembers): Promise<void> {
  const records = await Promise.all(batch.members.map((id) => deps.store.get(id)));
  if (!records.every((record) => record === null || isTerminal(record.status))) return;
  await api.cancel(batch.id ?? '').catch((error: Error) => deps.logger.warn({ provider_batch_id: batch.id, err: error.message }, 'canceling a provider batch failed'));
  deps.logger.info({ provider: batch.provider, provider_batch_id: batch.id }, 'every job of the provider batch was canceled: batch canceled at the provider');
}

async function readResults(deps: BatcherDeps, api: BatchAdapter, batch: ProviderBatchMembers, status: ProviderBatchStatus): Promise<void> {
  const id = batch.id ?? '';
  const seen = new Set<string>();
  if (status.state !== 'failed') {
    const members = new Set(batch.members);
    let chunk: BatchLineResult[] = [];
    const settle = async (lines: readonly BatchLineResult[]): Promise<void> => {
      await Promise.all(
        lines.map(async (line) => {
          const record = await deps.store.get(line.custom_id);
          if (record !== null) await deps.lifecycle.settleBatchLine(record, line, id);
        }),
      );
    };
    for await (const line of api.results(id)) {
      if (seen.has(line.custom_id) || !members.has(line.custom_id)) continue;
      seen.add(line.custom_id);
      chunk.push(line);
      if (chunk.length >= LINES_AT_ONCE) {
        await settle(chunk);
        chunk = [];
      }
    }
    await settle(chunk);
  }
  // Members with no line (a batch that failed as a whole, or lines the provider never reported) run in real time.
  const reason = reasonOf(status.state);
  await Promise.all(
    batch.members.filter((member) => !seen.has(member)).map(async (memberId) => {
      const record = await deps.store.get(memberId);
      if (record !== null && record.status === 'running' && record.execution?.provider_batch_id === id) await deps.lifecycle.takeBack(record, reason);
    }),
  );
  await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
  deps.logger.info({ provider: batch.provider, provider_batch_id: id, state: status.state, lines: seen.size, jobs: batch.members.length, err: status.error }, 'provider batch ended');
}

/** Deferred jobs within `fallback_before_s` of their deadline run in real time instead. */
async function takeBackDue(deps: BatcherDeps): Promise<void> {
  if (!(await deps.lock('pbatch-fallback', Math.max(1000, deps.config.jobs.sweep_interval_ms)))) return;
  const due = await deps.deferred.dueFallbacks(Math.floor(Date.now() / 1000), 500);
  for (const id of due) {
    const record = await deps.store.get(id);
    if (record !== null && !isTerminal(record.status) && record.execution?.mode === 'provider_batch') await deps.lifecycle.takeBack(record, 'deadline');
  }
  await deps.deferred.clearFallback(due);
}

/** The deferred-jobs and open-batches gauges of this process. */
async function countOpen(deps: BatcherDeps, open: readonly ProviderBatchRecord[]): Promise<void> {
  const metrics = getMetrics();
  const deferred = new Map<string, number>();
  for (const { provider, count } of await deps.deferred.waiting()) deferred.set(provider, (deferred.get(provider) ?? 0) + count);
  metrics.providerBatches.reset();
  for (const batch of open) {
    metrics.providerBatches.inc({ provider: batch.provider, state: batch.state });
    deferred.set(batch.provider, (deferred.get(batch.provider) ?? 0) + batch.count);
  }
  for (const provider of Object.keys(deps.config.providers)) metrics.deferredJobs.set({ provider }, deferred.get(provider) ?? 0);
}
