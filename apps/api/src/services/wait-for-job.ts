import { isTerminal, type JobRecord } from '@sluice/shared';
import { notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';

/**
 * The tenant's job once it reaches a terminal status, or as it is after `timeoutMs`. Woken by the
 * job's status channel, not by polling Redis; `signal` ends the wait early (client gone).
 */
export async function waitForJob(deps: ApiDeps, id: string, tenant: string, timeoutMs: number, signal?: AbortSignal): Promise<JobRecord> {
  const first = await deps.store.getForTenant(id, tenant);
  if (first === null) throw notFound('job', id);
  if (isTerminal(first.status) || timeoutMs <= 0) return first;
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const stop = await deps.watcher.watch(id, (status) => {
    if (isTerminal(status as JobRecord['status'])) wake();
  });
  const timer = setTimeout(wake, timeoutMs);
  signal?.addEventListener('abort', wake, { once: true });
  try {
    // Read again now that the subscription is live: a change in between is not missed.
    const again = await deps.store.get(id);
    if (again === null || isTerminal(again.status)) return again ?? first;
    await woken;
    return (await deps.store.get(id)) ?? again;
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', wake);
    stop();
  }
}
