import type { JobType } from 'bullmq';
import { chooseTarget, jobLogFields, type Engine } from '@sluice/engine';

const WAITING_STATES: JobType[] = ['prioritized', 'wait', 'delayed'];
const PAGE = 500;

export type MoverDeps = Pick<Engine, 'queues' | 'circuits' | 'store' | 'lifecycle' | 'logger'>;

/**
 * Moves the waiting, prioritized and delayed jobs of a provider whose circuit is open to each job's
 * next eligible target. Jobs with none stay where they are, queued on the paused queue, until some
 * provider recovers (every recovery runs this again for the providers still open).
 */
export async function moveQueuedJobs(deps: MoverDeps, provider: string): Promise<number> {
  const queue = deps.queues.get(provider);
  if (queue === undefined) return 0;
  const open = await deps.circuits.openProviders(true);
  if (!open.has(provider)) return 0;
  let moved = 0;
  for (const state of WAITING_STATES) {
    let start = 0;
    for (;;) {
      const jobs = await queue.getJobs([state], start, start + PAGE - 1, true);
      if (jobs.length === 0) break;
      let movedHere = 0;
      for (const job of jobs) if (job?.id !== undefined && (await moveOne(deps, provider, open, job.id, job.data.id, () => job.remove()))) movedHere += 1;
      moved += movedHere;
      if (jobs.length < PAGE) break;
      start += jobs.length - movedHere;
    }
  }
  return moved;
}

/** Moves one waiting job whose entry is `entry`, when it is still queued there and has a better target. */
async function moveOne(deps: MoverDeps, provider: string, open: ReadonlySet<string>, entry: string, jobId: string, removeEntry: () => Promise<unknown>): Promise<boolean> {
  const record = await deps.store.get(jobId);
  if (record === null || record.status !== 'queued' || record.queue_job_id !== entry) return false;
  const choice = chooseTarget(record.routing.candidates, record.exhausted, open);
  if (choice === null || choice.waiting || choice.index === record.target) return false;
  if (!(await deps.lifecycle.move(record, choice.index, 'circuit_open'))) return false;
  await removeEntry().catch(() => undefined); // a stale copy left behind is dropped by the processor
  const to = record.routing.candidates[choice.index];
  deps.logger.info({ ...jobLogFields(record), provider, to: to?.provider, model: to?.model, reason: 'circuit_open' }, 'job moved off an open circuit');
  return true;
}
