import type { ProviderAdapter } from '@sluice/providers';
import type { Engine } from '@sluice/engine';

export type ProberDeps = Pick<Engine, 'breaker' | 'config' | 'logger'> & { adapters: ReadonlyMap<string, ProviderAdapter> };

/**
 * Probes an open circuit's provider once its cooldown allows (one process at a time, through the
 * breaker): healthy closes the circuit (`onHealthy`), unhealthy keeps it open with a doubled cooldown.
 */
export function createProber(deps: ProberDeps, onHealthy: (provider: string) => Promise<void>): (provider: string) => Promise<void> {
  const { breaker, logger } = deps;
  return async (provider) => {
    const adapter = deps.adapters.get(provider);
    const timeoutMs = deps.config.providers[provider]?.timeout_ms ?? 30_000;
    if (adapter === undefined || !(await breaker.beginProbe(provider, timeoutMs + 5_000))) return;
    let reason: string | null = null;
    try {
      await adapter.probe({ signal: AbortSignal.timeout(timeoutMs), logger });
    } catch (error) {
      reason = (error as Error).message;
    }
    await breaker.endProbe(provider, reason === null);
    if (reason === null) {
      await onHealthy(provider);
      return;
    }
    const snapshot = await breaker.snapshot(provider);
    logger.warn({ provider, circuit: snapshot.state, err: reason, cooldown_s: snapshot.cooldown_s }, 'health probe failed: circuit stays open, cooldown doubled');
  };
}
