import { multiKey } from '@sluice/shared';
import { breakerKeys, endUnfinishedJob, lockKey, repairStuckRequeues, type CircuitState } from '@sluice/engine';
import { moveQueuedJobs } from './circuit-mover.ts';
import { jobFields, seconds } from './job-outcomes.ts';
import type { WorkerContext } from './worker-context.ts';

export interface Housekeeping {
  /** Pauses the provider's queue and moves its jobs; called at once by the process that opened the circuit. */
  circuitOpened(provider: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The worker's periodic duties, shared by every worker process through Redis locks: expire jobs past
 * their deadline wherever they wait, probe open circuits after their cooldown, keep each provider
 * queue paused exactly while its circuit is not closed, and move jobs off open circuits.
 */
export function startHousekeeping(context: WorkerContext): Housekeeping {
  const { redis, config, logger, breaker } = context;
  const prefix = config.redis.prefix;
  const providers = [...context.adapters.keys()];
  const pausedMarker = (provider: string): string => breakerKeys(prefix, provider).paused;
  /** One process at a time does a duty; the lock lapses by itself if that process dies. */
  const lock = async (name: string, ttlMs: number): Promise<boolean> =>
    (await redis.set(lockKey(prefix, name), String(process.pid), 'PX', ttlMs, 'NX')) === 'OK';

  const circuitOpened = async (provider: string): Promise<void> => {
    const queue = context.queues.get(provider);
    if (queue === undefined) return;
    await queue.pause();
    await redis.set(pausedMarker(provider), '1');
    const snapshot = await breaker.snapshot(provider);
    logger.warn({ provider, circuit: snapshot.state, reason: snapshot.reason, error_ratio: snapshot.window.error_ratio, cooldown_s: snapshot.cooldown_s }, 'circuit opened: queue paused');
    const moved = await moveQueuedJobs(context, provider);
    if (moved > 0) logger.warn({ provider, moved }, 'moved queued jobs off the open circuit');
  };

  const circuitClosed = async (provider: string, byProbe: boolean): Promise<void> => {
    const wasPaused = (await redis.del(pausedMarker(provider))) === 1;
    if (wasPaused) await context.queues.get(provider)?.resume();
    else if (!byProbe) return; // another process already resumed it
    logger.info({ provider, circuit: 'closed' }, 'circuit closed: probe succeeded, queue resumed');
    // Jobs waiting on other open circuits may now have a healthy target.
    const open = await context.circuits.openProviders(true);
    for (const other of open) await moveQueuedJobs(context, other);
  };

  const probe = async (provider: string): Promise<void> => {
    const adapter = context.adapters.get(provider);
    const timeoutMs = config.providers[provider]?.timeout_ms ?? 30_000;
    if (adapter === undefined || !(await breaker.beginProbe(provider, timeoutMs + 5_000))) return;
    let healthy = true;
    let reason: string | null = null;
    try {
      await adapter.probe({ signal: AbortSignal.timeout(timeoutMs), logger });
    } catch (error) {
      healthy = false;
      reason = (error as Error).message;
    }
    await breaker.endProbe(provider, healthy);
    if (healthy) await circuitClosed(provider, true);
    else {
      const snapshot = await breaker.snapshot(provider);
      logger.warn({ provider, circuit: snapshot.state, err: reason, cooldown_s: snapshot.cooldown_s }, 'health probe failed: circuit stays open, cooldown doubled');
    }
  };

  const expire = async (): Promise<void> => {
    if (!(await lock('expiry', Math.max(1000, config.jobs.sweep_interval_ms)))) return;
    const ids = await context.store.dueForExpiry(seconds(Date.now()), 500);
    for (const id of ids) {
      const record = await context.store.get(id);
      if (record === null || record.status === 'succeeded' || record.status === 'failed' || record.status === 'canceled' || record.status === 'expired') continue;
      const outcome = await endUnfinishedJob(context, record, {
        to: 'expired',
        error: { type: 'job_error', code: 'deadline_exceeded', message: 'the job did not finish before expires_at' },
      });
      if (!outcome.ok) continue;
      logger.info({ ...jobFields(record), provider: record.routing.candidates[record.target]?.provider, outcome: 'expired', reason: 'deadline_exceeded', was: outcome.previous }, 'job expired');
    }
    await context.store.clearExpiry(ids);
  };

  const reconcile = async (states: Map<string, CircuitState>): Promise<void> => {
    const pipeline = multiKey(redis);
    for (const provider of providers) pipeline.get(pausedMarker(provider));
    const markers = ((await pipeline.exec()) ?? []).map(([, value]) => value as string | null);
    for (const [index, provider] of providers.entries()) {
      const state = states.get(provider) ?? 'closed';
      const paused = markers[index] === '1';
      if (state !== 'closed' && !paused) {
        if (await lock(`open:${provider}`, 5_000)) await circuitOpened(provider);
      } else if (state === 'closed' && paused) {
        await circuitClosed(provider, false);
      } else if (state !== 'closed' && (await lock(`move:${provider}`, 5_000))) {
        // Retries and late arrivals land on an open circuit's queue too; keep moving them.
        await moveQueuedJobs(context, provider);
      }
      if (state !== 'closed') await probe(provider);
    }
  };

  /** The dead-letter queue mirrors the dead letters for Bull Board; its entries go with their retention. */
  const trimDeadLetterQueue = async (): Promise<void> => {
    if (!(await lock('trim-dead-letters', 60_000))) return;
    await context.deadLetters.clean(config.jobs.retention_s * 1000, 1000, 'wait');
  };

  /** Requeues that wrote the record but not its entry (a refused write, a crash) get their entry now. */
  const repairRequeues = async (): Promise<void> => {
    if (!(await lock('repair-requeues', Math.max(1000, config.jobs.sweep_interval_ms)))) return;
    const repaired = await repairStuckRequeues(context.store, context.queues, 5_000);
    if (repaired.length > 0) logger.warn({ job_ids: repaired.slice(0, 20), count: repaired.length }, 're-created queue entries that a requeue failed to write');
  };

  const tick = async (): Promise<void> => {
    await expire();
    await repairRequeues();
    await trimDeadLetterQueue();
    if (providers.length > 0) await reconcile(await breaker.states(providers));
  };

  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    running = running.then(tick).catch((error: Error) => logger.warn({ err: error.message }, 'housekeeping pass failed; next pass retries'));
  }, config.jobs.sweep_interval_ms);
  timer.unref();

  return {
    circuitOpened: (provider) => {
      const pass = running.then(() => circuitOpened(provider)).catch((error: Error) => logger.warn({ err: error.message, provider }, 'pausing an open circuit failed; next pass retries'));
      running = pass;
      return pass;
    },
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
