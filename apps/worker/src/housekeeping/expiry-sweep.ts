import { DEADLINE_EXCEEDED, isTerminal, jobLogFields, type Engine } from '@sluice/engine';
import type { DutyLock } from './duty-lock.ts';

export type ExpiryDeps = Pick<Engine, 'store' | 'lifecycle' | 'config' | 'logger'> & { lock: DutyLock };

const BATCH = 500;

/**
 * Expires jobs past their deadline wherever they wait (a paused queue, a delayed retry, a running
 * call): the same `end` transition as a client's cancel, so the entry, the call, the reservation
 * and the announcement are handled in one place.
 */
export function createExpirySweep(deps: ExpiryDeps): () => Promise<void> {
  const { store, lifecycle, logger, config } = deps;
  return async () => {
    if (!(await deps.lock('expiry', Math.max(1000, config.jobs.sweep_interval_ms)))) return;
    const now = Math.floor(Date.now() / 1000);
    const ids = await store.dueForExpiry(now, BATCH);
    for (const id of ids) {
      const record = await store.get(id);
      if (record === null || isTerminal(record.status)) continue;
      if (record.expires_at > now) {
        // A deadline moved later (a stream's first chunk, a dead letter replayed) is in the record:
        // the job is not due. Its index entry is written again from the record, in case the write
        // that moved it never got there (the writer died), so the job is never left unindexed.
        await store.scheduleExpiry(id, record.expires_at);
        continue;
      }
      const outcome = await lifecycle.end(record, { to: 'expired', error: DEADLINE_EXCEEDED });
      if (!outcome.ok) continue;
      logger.info({ ...jobLogFields(record), provider: record.routing.candidates[record.target]?.provider, outcome: 'expired', reason: 'deadline_exceeded', was: outcome.previous }, 'job expired');
    }
    // Only deadlines still due are forgotten: a job whose deadline moved later keeps its new one.
    await store.clearExpiry(ids, now);
  };
}
