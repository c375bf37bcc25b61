import type { Breaker } from './breaker.ts';

export interface CircuitView {
  /** Providers whose circuit is not closed (open or half-open), at most `maxAgeMs` old. */
  openProviders(fresh?: boolean): Promise<ReadonlySet<string>>;
}

/**
 * A per-process cache of which circuits are open, so the submit path and each job pickup cost no
 * Redis round trip; a circuit change is seen within `maxAgeMs` (default 250).
 */
export function createCircuitView(breaker: Breaker, providers: readonly string[], maxAgeMs = 250): CircuitView {
  let cached: ReadonlySet<string> = new Set();
  let readAt = 0;
  let pending: Promise<ReadonlySet<string>> | null = null;
  const refresh = (): Promise<ReadonlySet<string>> => {
    pending ??= breaker
      .states(providers)
      .then((states) => {
        cached = new Set([...states].filter(([, state]) => state !== 'closed').map(([provider]) => provider));
        readAt = Date.now();
        return cached;
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };
  return {
    async openProviders(fresh = false) {
      if (!fresh && Date.now() - readAt < maxAgeMs) return cached;
      return refresh();
    },
  };
}
