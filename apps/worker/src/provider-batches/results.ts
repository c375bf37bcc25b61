import { ProviderError, type BatchAdapter, type BatchLineResult, type CallOptions, type ProviderBatchStatus } from '@sluice/providers';
import { SLUICE_ATTRIBUTES, type Span } from '@sluice/shared';
import { isTerminal, type FallbackReason, type ProviderBatchMembers, type ProviderBatchRecord } from '@sluice/engine';
import { AT_ONCE_LINES, batchApiOf, eachLimited, FINISHED_KEEP_S, type BatcherDeps } from './batch-deps.ts';
/**
 * A provider batch still unreadable this long after its claim is given up: every provider ends a
 * batch within 24 h, so its members are taken back to real time (their deadline may still allow it).
 */
const GIVE_UP_MS = 26 * 3_600_000;
/** How long one poll holds its lock at most (it is released as soon as the poll is done). */
const POLL_LOCK_MS = 600_000;

/** Why members a finished provider batch gave no line for run in real time. */
const reasonOf = (state: ProviderBatchStatus['state']): FallbackReason => (state === 'expired' ? 'batch_expired' : state === 'canceled' ? 'canceled_batch' : 'batch_failed');

/** Polls one open provider batch when its interval has passed; once it is done, ends each member with its line. */
export async function poll(deps: BatcherDeps, open: ProviderBatchRecord): Promise<void> {
  const api = batchApiOf(deps, open.provider);
  const interval = (deps.config.providers[open.provider]?.batch.poll_interval_s ?? 30) * 1000;
  if (api === undefined || open.id === null || Date.now() - open.polledAt < interval) return;
  const lock = `pbatch-poll:${open.key}`;
  if (!(await deps.lock(lock, POLL_LOCK_MS))) return;
  try {
    await pollOnce(deps, api, open, open.id);
  } finally {
    await deps.lock.release(lock);
  }
}

/** One poll of a provider batch: its id, and (tracing on) its span, whose context its requests carry. */
interface Poll {
  id: string;
  span: Span | null;
  call: CallOptions;
}

async function pollOnce(deps: BatcherDeps, api: BatchAdapter, open: ProviderBatchRecord, id: string): Promise<void> {
  await deps.deferred.polled(open.key, Date.now());
  const span = deps.spans?.batchPoll(open, id) ?? null;
  const poll: Poll = { id, span, call: span === null ? {} : { headers: span.headers() } };
  try {
    const status = await api.status(id, poll.call).catch(async (error: Error) => {
      span?.fail(error instanceof ProviderError ? error.code : 'poll_failed');
      await deps.breaker.record(open.provider, false, null);
      deps.logger.warn({ provider: open.provider, provider_batch_id: id, err: error.message }, 'polling a provider batch failed; next poll retries');
      return null;
    });
    span?.setAttributes({ [SLUICE_ATTRIBUTES.providerBatchState]: status?.state });
    const batch = await deps.deferred.get(open.key);
    if (batch === null) return;
    if (status === null) {
      if (Date.now() - open.claimedAt > GIVE_UP_MS) await giveUp(deps, batch, id);
      return;
    }
    if (status.state === 'in_progress') await cancelWhenAllEnded(deps, api, batch, id);
    else await readResults(deps, api, batch, status, poll);
  } finally {
    span?.end();
  }
}

/** Every member ended (canceled by their clients): the provider batch is canceled too. */
async function cancelWhenAllEnded(deps: BatcherDeps, api: BatchAdapter, batch: ProviderBatchMembers, id: string): Promise<void> {
  for (let start = 0; start < batch.members.length; start += 500) {
    const statuses = await deps.store.statuses(batch.members.slice(start, start + 500));
    if (statuses.some((status) => status !== null && !isTerminal(status))) return;
  }
  await api.cancel(id).catch((error: Error) => deps.logger.warn({ provider_batch_id: id, err: error.message }, 'canceling a provider batch failed'));
  deps.logger.info({ provider: batch.provider, provider_batch_id: id }, 'every job of the provider batch was canceled: batch canceled at the provider');
}

async function readResults(deps: BatcherDeps, api: BatchAdapter, batch: ProviderBatchMembers, status: ProviderBatchStatus, poll: Poll): Promise<void> {
  const { id } = poll;
  const seen = new Set<string>();
  if (status.state !== 'failed') {
    const members = new Set(batch.members);
    let chunk: BatchLineResult[] = [];
    const settle = (lines: readonly BatchLineResult[]) =>
      eachLimited(lines, async (line) => {
        const record = await deps.store.get(line.custom_id);
        if (record === null) return;
        const next = await deps.lifecycle.settleBatchLine(record, line, id);
        // Each member's line is a call of its own job, in its trace, linked to this poll.
        if (next !== null && poll.span !== null) deps.spans?.batchLine(record, line, next, poll.span);
      });
    for await (const line of api.results(id, poll.call)) {
      if (seen.has(line.custom_id) || !members.has(line.custom_id)) continue;
      seen.add(line.custom_id);
      chunk.push(line);
      if (chunk.length >= AT_ONCE_LINES) {
        await settle(chunk);
        chunk = [];
      }
    }
    await settle(chunk);
  }
  // Members with no line (a batch that failed as a whole, or lines the provider never reported) run in real time.
  const reason = reasonOf(status.state);
  await eachLimited(batch.members.filter((member) => !seen.has(member)), async (memberId) => {
    const record = await deps.store.get(memberId);
    if (record !== null && deps.lifecycle.inProviderBatch(record, id)) await deps.lifecycle.takeBack(record, reason);
  });
  await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
  deps.logger.info({ provider: batch.provider, provider_batch_id: id, state: status.state, lines: seen.size, jobs: batch.members.length, err: status.error }, 'provider batch ended');
}

/** A provider batch that cannot be read any more: its members run in real time, and it is closed. */
async function giveUp(deps: BatcherDeps, batch: ProviderBatchMembers, id: string): Promise<void> {
  await eachLimited(batch.members, async (memberId) => {
    const record = await deps.store.get(memberId);
    if (record !== null && deps.lifecycle.inProviderBatch(record, id)) await deps.lifecycle.takeBack(record, 'batch_expired');
  });
  await deps.deferred.finished(batch.key, FINISHED_KEEP_S);
  deps.logger.warn({ provider: batch.provider, provider_batch_id: id, jobs: batch.members.length }, 'provider batch could not be read for longer than any provider keeps one open: its jobs run in real time');
}
