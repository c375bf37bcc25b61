import type { ProviderConfig } from '@sluice/shared';

/**
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so retries of a
 * burst spread out. A provider's own retry-after wins when it asks for longer.
 */
export function backoffDelay(attemptsMade: number, retry: ProviderConfig['retry'], retryAfterMs: number | null, random: () => number = Math.random): number {
  const step = Math.min(retry.max_backoff_ms, retry.backoff_ms * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = Math.round(step / 2 + (random() * step) / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}
