import { Worker, type Job } from 'bullmq';
import { exceptConnectionErrors, type Redis } from '@sluice/shared';
import { attemptOf, bullQueueName, isTerminal, jobLogFields, keptEntries, providerQueueName, type Engine, type QueuedJobData } from '@sluice/engine';
import { endStartedStream, type StartedStreamDeps } from './stream-call.ts';

/** One BullMQ Worker per enabled provider: its pool, sized by the provider's `concurrency`. */
export function startProviderPools(
  engine: Pick<Engine, 'config' | 'store' | 'lifecycle' | 'logger'> & StartedStreamDeps,
  queueRedis: Redis,
  providers: readonly string[],
  processJob: (job: Job<QueuedJobData>) => Promise<void>,
): Worker<QueuedJobData>[] {
  const { config, logger } = engine;
  return providers.map((id) => {
    const worker = new Worker<QueuedJobData>(bullQueueName(providerQueueName(id)), processJob, {
      connection: queueRedis,
      prefix: config.redis.prefix,
      concurrency: config.providers[id]?.concurrency ?? 1,
      lockDuration: config.jobs.lock_duration_ms,
      stalledInterval: config.jobs.stalled_interval_ms,
      // A job whose worker dies twice mid-call (a poison request, say) fails the entry: BullMQ re-runs
      // it once after a death, and the failed handler moves the job to its next target after the second.
      maxStalledCount: 1,
      // Never reached: rpm/tpm are our sliding windows. BullMQ honours queue.rateLimit() (a provider's
      // 429 pausing the whole queue) only on queues that have a limiter.
      limiter: { max: 1_000_000_000, duration: 1000 },
      // Finished entries kept as history for Bull Board: the Worker's setting, not stored on each entry.
      ...keptEntries(config.queues),
    });
    worker.on('error', exceptConnectionErrors(queueRedis, logger, (error) => logger.error({ err: error.message, provider: id }, 'worker error')));
    worker.on('failed', (job, error) => {
      if (job !== undefined) void recoverFailedEntry(engine, job, error);
    });
    return worker;
  });
}

/**
 * An entry BullMQ failed itself (its worker died mid-call twice, or the processor hit an error of its
 * own): the job must not stay `running` forever, so it moves on as if this target were used up.
 */
async function recoverFailedEntry(engine: Pick<Engine, 'store' | 'lifecycle' | 'logger'> & StartedStreamDeps, job: Job<QueuedJobData>, error: Error): Promise<void> {
  try {
    const record = await engine.store.get(job.data.id);
    if (record === null || isTerminal(record.status) || record.queue_job_id !== job.id) return;
    engine.logger.error({ ...jobLogFields(record), err: error.message }, 'queue entry failed outside the provider call; moving the job on');
    // A streamed job whose client already has part of an answer cannot start over on another target.
    if (await endStartedStream(engine, record, `the run failed after chunks were sent (${error.message})`, jobLogFields(record))) return;
    // Workers dying in the call again and again (BullMQ's stall limit) mark a request that kills
    // them: that target is not tried again. Any other failure of the entry (an error of ours, say)
    // only uses up the target for this round.
    const stalled = /stalled more than allowable limit/i.test(error.message);
    const candidate = record.routing.candidates[record.target];
    if (stalled && record.status === 'running' && record.running_since !== null && candidate !== undefined) {
      // Its worker died in the call (BullMQ gave up on the entry): the call is on the job's history.
      const attempt = attemptOf(candidate, record.running_since, Date.now() - record.running_since, 'interrupted', null, `worker stopped during the call (${error.message})`);
      await engine.lifecycle.noteAttempt(record, attempt);
    }
    await engine.lifecycle.failover(record, { reason: stalled ? 'worker_lost' : 'entry_failed', exhaust: true, refuse: stalled, guard: record.queue_job_id, lastError: error.message });
  } catch (caught) {
    engine.logger.error({ job_id: job.data.id, err: (caught as Error).message }, 'could not recover a failed queue entry; the expiry sweep will end it');
  }
}
