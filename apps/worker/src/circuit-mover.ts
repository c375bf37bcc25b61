import type { JobType } from 'bullmq';
import { chooseTarget, requeueJob } from '@sluice/engine';
import { jobFields } from './job-outcomes.ts';
import type { WorkerContext } from './worker-context.ts';

const WAITING_STATES: JobType[] = ['prioritized', 'wait', 'delayed'];
const PAGE = 500;

/**
 * Moves the waiting, prioritized and delayed jobs of a provider whose circuit is open to each job's
 * next eligible target. Jobs with none stay where they are, queued on the paused queue, until some
 * provider recovers (every recovery runs this again for the providers still open).
 */
export async function moveQueuedJobs(context: WorkerContext, provider: string): Promise<number> {
  const queue = context.queues.get(provider);
  if (queue === undefined) return 0;
  const open = await context.circuits.openProviders(true);
  if (!open.has(provider)) return 0;
  let moved = 0;
  for (const state of WAITING_STATES) {
    let start = 0;
    for (;;) {
      const jobs = await queue.getJobs([state], start, start + PAGE - 1, true);
      if (jobs.length === 0) break;
      let movedHere = 0;
      for (const job of jobs) {
        if (job?.id === undefined) continue;
        const record = await context.store.get(job.data.id);
        if (record === null || record.status !== 'queued' || record.queue_job_id !== job.id) continue;
        const choice = chooseTarget(record.routing.candidates, record.exhausted, open);
        if (choice === null || choice.waiting || choice.index === record.target) continue;
        const ok = await requeueJob(context.store, context.queues, record, { target: choice.index, tries: 0, from: ['queued'], reason: 'circuit_open' });
        if (!ok) continue;
        await job.remove().catch(() => undefined); // a stale copy left behind is dropped by the processor
        movedHere += 1;
        const to = record.routing.candidates[choice.index];
        context.logger.info({ ...jobFields(record), provider, to: to?.provider, model: to?.model, reason: 'circuit_open' }, 'job moved off an open circuit');
      }
      moved += movedHere;
      if (jobs.length < PAGE) break;
      start += jobs.length - movedHere;
    }
  }
  return moved;
}
