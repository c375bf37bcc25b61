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
      // A deadline moved later since the index was read (a stream's first chunk, a dead letter
      // replayed) is in the record: the job is not due.
      if (record === null || isTerminal(record.status) || record.expires_at > now) continue;
      const outcome = await lifecycle.end(record, { to: 'expired', error: DEADLINE_EXCEEDED });
      if (!outcome.ok) continue;
      logger.info({ ...jobLogFields(record), provider: record.routing.candidates[record.target]?.provider, outcome: 'expired', reason: 'deadline_exceeded', was: outcome.previous }, 'job expired');
    }
    // Only deadlines still due are forgotten: a job whose deadline moved later keeps its new one.
    await store.clearExpiry(ids, now);
  };
}
