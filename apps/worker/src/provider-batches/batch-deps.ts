import type { BatchAdapter, ProviderAdapter } from '@sluice/providers';
import type { Engine } from '@sluice/engine';
import type { DutyLock } from '../housekeeping/duty-lock.ts';
import type { WorkerSpans } from '../tracing/worker-spans.ts';

export type BatcherDeps = Pick<Engine, 'config' | 'logger' | 'store' | 'lifecycle' | 'deferred' | 'breaker' | 'circuits'> & {
  adapters: ReadonlyMap<string, ProviderAdapter>;
  lock: DutyLock;
  /** Submit, poll and result-line spans (tracing on), else null. */
  spans: Pick<WorkerSpans, 'batchSubmit' | 'batchPoll' | 'batchLine'> | null;
};

/** Jobs handled at once (each is a few Redis round trips); result lines are read in chunks of this size. */
export const AT_ONCE_LINES = 32;
const AT_ONCE = AT_ONCE_LINES;
/** How long a finished submission's record is kept, for the log trail. */
export const FINISHED_KEEP_S = 86_400;

export const batchApiOf = (deps: BatcherDeps, provider: string): BatchAdapter | undefined => deps.adapters.get(provider)?.batch;

/** Runs `work` on every item, `AT_ONCE` at a time. */
export async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < items.length; start += AT_ONCE) await Promise.all(items.slice(start, start + AT_ONCE).map(work));
}
