import { multiKey, type Redis } from '@sluice/shared';
import { breakerKeys, type CircuitState, type Engine } from '@sluice/engine';
import { moveQueuedJobs, type MoverDeps } from './circuit-mover.ts';
import type { DutyLock } from './duty-lock.ts';

export interface CircuitReconciler {
  /** Pauses the provider's queue and moves its jobs; called at once by the process that opened the circuit. */
  circuitOpened(provider: string): Promise<void>;
  /** Resumes the provider's queue (`byProbe`: this process's probe closed it) and moves jobs waiting elsewhere. */
  circuitClosed(provider: string, byProbe: boolean): Promise<void>;
  /** Brings every provider queue in line with its circuit: paused exactly while it is not closed. */
  reconcile(states: ReadonlyMap<string, CircuitState>): Promise<void>;
}

export type ReconcilerDeps = MoverDeps & Pick<Engine, 'breaker' | 'config'> & { redis: Redis; lock: DutyLock; providers: readonly string[] };

/**
 * Keeps each provider queue paused exactly while its circuit is not closed, across processes: a
 * marker in Redis says a queue was paused for its circuit, so whichever process sees the circuit
 * close resumes it once, and jobs on an open circuit keep moving to their next target.
 */
export function createCircuitReconciler(deps: ReconcilerDeps): CircuitReconciler {
  const { redis, breaker, logger, lock } = deps;
  const prefix = deps.config.redis.prefix;
  const pausedMarker = (provider: string): string => breakerKeys(prefix, provider).paused;

  const circuitOpened = async (provider: string): Promise<void> => {
    const queue = deps.queues.get(provider);
    if (queue === undefined) return;
    await queue.pause();
    await redis.set(pausedMarker(provider), '1');
    const snapshot = await breaker.snapshot(provider);
    logger.warn({ provider, circuit: snapshot.state, reason: snapshot.reason, error_ratio: snapshot.window.error_ratio, cooldown_s: snapshot.cooldown_s }, 'circuit opened: queue paused');
    const moved = await moveQueuedJobs(deps, provider);
    if (moved > 0) logger.warn({ provider, moved }, 'moved queued jobs off the open circuit');
  };

  const circuitClosed = async (provider: string, byProbe: boolean): Promise<void> => {
    const wasPaused = (await redis.del(pausedMarker(provider))) === 1;
    if (wasPaused) await deps.queues.get(provider)?.resume();
    else if (!byProbe) return; // another process already resumed it
    logger.info({ provider, circuit: 'closed' }, 'circuit closed: probe succeeded, queue resumed');
    // Jobs waiting on other open circuits may now have a healthy target.
    for (const other of await deps.circuits.openProviders(true)) await moveQueuedJobs(deps, other);
  };

  const reconcile = async (states: ReadonlyMap<string, CircuitState>): Promise<void> => {
    const pipeline = multiKey(redis);
    for (const provider of deps.providers) pipeline.get(pausedMarker(provider));
    const markers = ((await pipeline.exec()) ?? []).map(([, value]) => value as string | null);
    for (const [index, provider] of deps.providers.entries()) {
      const state = states.get(provider) ?? 'closed';
      const paused = markers[index] === '1';
      if (state !== 'closed' && !paused) {
        if (await lock(`open:${provider}`, 5_000)) await circuitOpened(provider);
      } else if (state === 'closed' && paused) {
        await circuitClosed(provider, false);
      } else if (state !== 'closed' && (await lock(`move:${provider}`, 5_000))) {
        // Retries and late arrivals land on an open circuit's queue too; keep moving them.
        await moveQueuedJobs(deps, provider);
      }
    }
  };

  return { circuitOpened, circuitClosed, reconcile };
}
