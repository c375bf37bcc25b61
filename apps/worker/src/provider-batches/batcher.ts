import { randomUUID } from 'node:crypto';
import { ProviderError, type BatchRequest } from '@sluice/providers';
import { getMetrics, SLUICE_ATTRIBUTES } from '@sluice/shared';
import { isTerminal, type JobRecord, type ProviderBatchMembers, type ProviderBatchRecord } from '@sluice/engine';
import { batchApiOf, eachLimited, FINISHED_KEEP_S, type BatcherDeps } from './batch-deps.ts';
import { poll } from './results.ts';

/**
 * How long a submit may take: at most two calls (an upload, then the create) of `timeout_ms` each,
 * plus reading its jobs. Its lock lasts as long; a submission still without the provider's id after
 * it lost its worker (or got no answer) and is looked for by its key.
 */
const submitGraceMs = (deps: BatcherDeps, provider: string): number => 3 * (deps.config.providers[provider]?.timeout_ms ?? 60_000) + 5_000;

/**
 * Provider batches, as periodic duties any worker can do (one at a time through locks): take back
 * jobs whose deadline comes within `fallback_before_s`; submit what waits once a target has
 * `batch.max_requests` jobs or its oldest waited `batch.max_wait_s`; find or resubmit submissions
 * cut short by a crash; poll open ones every `batch.poll_interval_s` and end each member with its
 * result line. One failing batch or job never stops the others.
 */
export function createProviderBatcher(deps: BatcherDeps): () => Promise<void> {
  const guarded = async (what: string, work: () => Promise<void>): Promise<void> => {
    try {
      await work();
    } catch (error) {
      deps.logger.warn({ err: (error as Error).message, duty: what }, 'provider batch duty failed; the next tick retries');
    }
  };
  return async () => {
    await guarded('fallback', () => takeBackDue(deps));
    await guarded('flush', () => flush(deps));
    const open = await deps.deferred.open();
    for (const batch of open) await guarded(batch.key, () => (batch.state === 'submitting' ? recover(deps, batch) : poll(deps, batch)));
    await countOpen(deps, open);
  };
}

/** Runs `work` while holding the submission's lock: one process at a time submits or recovers it. */
async function withSubmitLock(deps: BatcherDeps, provider: string, key: string, work: () => Promise<void>): Promise<void> {
  const lock = `pbatch-submit:${key}`;
  if (!(await deps.lock(lock, submitGraceMs(deps, provider)))) return;
  try {
    await work();
  } finally {
    await deps.lock.release(lock);
  }
}

/** Submits each target's waiting jobs once enough wait or the oldest waited long enough. */
async function flush(deps: BatcherDeps): Promise<void> {
  const now = Date.now();
  const openCircuits = await deps.circuits.openProviders(true);
  for (const { provider, model, count, oldestMs } of await deps.deferred.waiting()) {
    const settings = deps.config.providers[provider]?.batch;
    // An open circuit holds deferred jobs until the provider recovers (or their deadline takes them back).
    if (settings === undefined || batchApiOf(deps, provider) === undefined || oldestMs === null || openCircuits.has(provider)) continue;
    if (count < settings.max_requests && now - oldestMs < settings.max_wait_s * 1000) continue;
    // One submitter per provider and model at a time; each submission also holds a lock of its own.
    const targetLock = `pbatch-flush:${provider}/${model}`;
    if (!(await deps.lock(targetLock, submitGraceMs(deps, provider)))) continue;
    try {
      const key = `sluice_${randomUUID().replaceAll('-', '')}`;
      await withSubmitLock(deps, provider, key, async () => {
        if ((await deps.deferred.claim(provider, model, settings.max_requests, key)).length === 0) return;
        const batch = await deps.deferred.get(key);
        if (batch !== null) await submit(deps, batch);
      });
    } finally {
      await deps.lock.release(targetLock);
    }
  }
}

/** The members still waiting for this submission (not canceled or taken back meanwhile). */
async function waitingMembers(deps: BatcherDeps, batch: ProviderBatchMembers): Promise<JobRecord[]> {
  const waiting: JobRecord[] = [];
  await eachLimited(batch.members, async (id) => {
    const record = await deps.store.get(id);
    if (record !== null && record.status === 'queued' && record.execution?.mode === 'provider_batch' && record.execution.provider_batch_id === null) waiting.push(record);
  });
  return waiting;
}

/**
 * Sends a claimed submission to the provider. A refusal (the provider answered no) sends its jobs to
 * real time; an answer that never came leaves it `submitting`, for `recover` to look for by its key.
 */
async function submit(deps: BatcherDeps, batch: ProviderBatchMembers): Promise<void> {
  const api = batchApiOf(deps, batch.provider);
  const members = await waitingMembers(deps, batch);
  if (api === undefined || members.length === 0) {
    await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
    return;
  }
  const requests: BatchRequest[] = members.map((record) => ({ custom_id: record.id, request: { model: batch.model, messages: record.request.messages, params: record.request.params } }));
  const span = deps.spans?.batchSubmit(batch, members) ?? null;
  const sent = await api.submit(batch.key, requests, span === null ? {} : { headers: span.headers() }).then(
    (id) => ({ id }),
    (error: unknown) => ({ error }),
  );
  if ('id' in sent) span?.setAttributes({ [SLUICE_ATTRIBUTES.providerBatchId]: sent.id });
  else span?.fail(sent.error instanceof ProviderError ? sent.error.code : 'submit_failed');
  span?.end();
  if ('id' in sent) await submitted(deps, batch, sent.id, members);
  else await submitFailed(deps, batch, members, sent.error);
}

/** A submission refused (its jobs run in real time) or unanswered (looked for by its key before it is sent again). */
async function submitFailed(deps: BatcherDeps, batch: ProviderBatchMembers, members: readonly JobRecord[], error: unknown): Promise<void> {
  await deps.breaker.record(batch.provider, false, null);
  const refused = error instanceof ProviderError && (error.kind === 'fatal' || error.kind === 'auth' || error.kind === 'context_length');
  deps.logger.warn({ provider: batch.provider, model: batch.model, jobs: members.length, err: (error as Error).message, refused }, refused ? 'provider refused a batch submission: its jobs run in real time' : 'provider batch submission got no answer: looked for again before it is sent again');
  if (!refused) return;
  await eachLimited(members, (record) => deps.lifecycle.takeBack(record, 'batch_failed'));
  await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
}

/** The members run at the provider now; only then is the submission marked, so a crash in between is found by `recover`. */
async function submitted(deps: BatcherDeps, batch: ProviderBatchRecord, id: string, members: readonly JobRecord[]): Promise<void> {
  await deps.lifecycle.batchSubmitted(members, id);
  await deps.deferred.submitted(batch.key, id);
  deps.logger.info({ provider: batch.provider, model: batch.model, provider_batch_id: id, jobs: members.length }, 'provider batch submitted');
}

/** A submission whose worker died (or got no answer) before writing the provider's id: found by its key, or submitted again. */
async function recover(deps: BatcherDeps, open: ProviderBatchRecord): Promise<void> {
  const api = batchApiOf(deps, open.provider);
  if (api === undefined || Date.now() - open.claimedAt < submitGraceMs(deps, open.provider)) return;
  await withSubmitLock(deps, open.provider, open.key, async () => {
    const batch = await deps.deferred.get(open.key);
    if (batch === null || batch.state !== 'submitting') return;
    // A lookup that fails says nothing: try again at the next tick rather than submit twice.
    const found = await api.find(batch.key);
    if (found === null) await submit(deps, batch);
    else await submitted(deps, batch, found, await waitingMembers(deps, batch));
  });
}

/** Deferred jobs within `fallback_before_s` of their deadline run in real time instead. */
async function takeBackDue(deps: BatcherDeps): Promise<void> {
  if (!(await deps.lock('pbatch-fallback', Math.max(1000, deps.config.jobs.sweep_interval_ms)))) return;
  const due = await deps.deferred.dueFallbacks(Math.floor(Date.now() / 1000), 500);
  await eachLimited(due, async (id) => {
    const record = await deps.store.get(id);
    if (record === null || isTerminal(record.status) || record.execution?.mode !== 'provider_batch') return;
    await deps.lifecycle.takeBack(record, 'deadline').catch((error: Error) => deps.logger.warn({ job_id: id, err: error.message }, 'could not take a deferred job back to real time'));
  });
  await deps.deferred.clearFallback(due);
}

/** The deferred-jobs and open-batches gauges (waiting jobs, and jobs claimed into open submissions). */
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
