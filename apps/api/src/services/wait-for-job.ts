import { isTerminal, type JobRecord } from '@sluice/shared';
import { notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';

/** A live subscription to one job's terminal status. */
export interface EndWatch {
  ended: Promise<void>;
  stop(): void;
}

/** Subscribes to a job's status channel; `ended` resolves at its first terminal status. */
export async function watchForEnd(deps: ApiDeps, id: string): Promise<EndWatch> {
  let wake: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (wake = resolve));
  const stop = await deps.watcher.watch(id, (status) => {
    if (isTerminal(status as JobRecord['status'])) wake();
  });
  return { ended, stop };
}

export interface WaitOptions {
  /** A subscription made before the job could end (the synchronous path makes it alongside the submit). */
  watch?: EndWatch;
  /** The record as the caller already has it, saving the first read. */
  known?: JobRecord;
}

/**
 * The tenant's job once it reaches a terminal status, or as it is after `timeoutMs`. Woken by the
 * job's status channel, not by polling Redis; `signal` ends the wait early (client gone).
 */
export async function waitForJob(deps: ApiDeps, id: string, tenant: string, timeoutMs: number, signal?: AbortSignal, options: WaitOptions = {}): Promise<JobRecord> {
  const first = options.known ?? (await deps.store.getForTenant(id, tenant));
  if (first === null) {
    options.watch?.stop();
    throw notFound('job', id);
  }
  if (isTerminal(first.status) || timeoutMs <= 0) {
    options.watch?.stop();
    return first;
  }
  const watch = options.watch ?? (await watchForEnd(deps, id));
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  void watch.ended.then(wake);
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
    watch.stop();
  }
}
