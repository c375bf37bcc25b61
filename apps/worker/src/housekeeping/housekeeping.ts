import type { Engine } from '@sluice/engine';
import { createCircuitReconciler, type ReconcilerDeps } from './circuit-reconciler.ts';
import type { DutyLock } from './duty-lock.ts';
import { createExpirySweep } from './expiry-sweep.ts';
import { createProber, type ProberDeps } from './prober.ts';

export interface Housekeeping {
  /** Pauses the provider's queue and moves its jobs; called at once by the process that opened the circuit. */
  circuitOpened(provider: string): Promise<void>;
  stop(): Promise<void>;
}

export type HousekeepingDeps = ReconcilerDeps & ProberDeps & Pick<Engine, 'deadLetters' | 'config'> & { lock: DutyLock };

/**
 * The worker's periodic duties, one pass every `jobs.sweep_interval_ms`, shared by every worker
 * process through Redis locks: the expiry sweep, repairing interrupted moves, trimming the dead-letter
 * queue, and the circuits (reconciling queue pauses, probing open circuits after their cooldown).
 * Provider batches have a repeatable job of their own (provider-batches/).
 */
export function startHousekeeping(deps: HousekeepingDeps): Housekeeping {
  const { config, logger, lock } = deps;
  const reconciler = createCircuitReconciler(deps);
  const probe = createProber(deps, (provider) => reconciler.circuitClosed(provider, true));
  const expire = createExpirySweep(deps);

  /** Moves that wrote the record but not its entry (a refused write, a crash) get their entry now. */
  const repairMoves = async (): Promise<void> => {
    if (!(await lock('repair-requeues', Math.max(1000, config.jobs.sweep_interval_ms)))) return;
    const repaired = await deps.lifecycle.repairStuckMoves(5_000);
    if (repaired.length > 0) logger.warn({ job_ids: repaired.slice(0, 20), count: repaired.length }, 're-created queue entries that a requeue failed to write');
  };

  /** The dead-letter queue mirrors the dead letters for Bull Board; its entries go with their retention. */
  const trimDeadLetterQueue = async (): Promise<void> => {
    if (!(await lock('trim-dead-letters', 60_000))) return;
    await deps.deadLetters.clean(config.jobs.retention_s * 1000, 1000, 'wait');
  };

  const circuits = async (): Promise<void> => {
    if (deps.providers.length === 0) return;
    const states = await deps.breaker.states(deps.providers);
    await reconciler.reconcile(states);
    for (const provider of deps.providers) if ((states.get(provider) ?? 'closed') !== 'closed') await probe(provider);
  };

  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    if (stopped) return;
    running = running
      .then(async () => {
        await expire();
        await repairMoves();
        await trimDeadLetterQueue();
        await circuits();
      })
      .catch((error: Error) => logger.warn({ err: error.message }, 'housekeeping pass failed; next pass retries'));
  }, config.jobs.sweep_interval_ms);
  timer.unref();

  return {
    circuitOpened: (provider) => {
      const pass = running.then(() => reconciler.circuitOpened(provider)).catch((error: Error) => logger.warn({ err: error.message, provider }, 'pausing an open circuit failed; next pass retries'));
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
