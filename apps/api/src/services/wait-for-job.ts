import { isTerminal, type JobRecord } from '@sluice/engine';
import { notFound } from '../api-error.ts';
import type { Engine } from '@sluice/engine';
import type { JobWatcher } from './job-watcher.ts';

/** What waiting on a job reads: the record, and the watcher that says when it changes. */
export type WaitDeps = Pick<Engine, 'store'> & { watcher: JobWatcher };

/** A live subscription to one job's terminal status. */
export interface EndWatch {
  /** Resolves at the first terminal status, with the record when the news carried it. */
  ended: Promise<JobRecord | null>;
  stop(): void;
}

/**
 * Subscribes to a job's status channel; `ended` resolves at its first terminal status, with the
 * record as of it (read once for every waiter on the job). `beforeSubmit`: the job is not submitted
 * yet, so nothing can have been missed (no status read after subscribing).
 */
export async function watchForEnd(deps: WaitDeps, id: string, beforeSubmit = false): Promise<EndWatch> {
  let wake: (record: JobRecord | null) => void = () => undefined;
  const ended = new Promise<JobRecord | null>((resolve) => (wake = resolve));
  const stop = await deps.watcher.watch(id, (status, read) => {
    if (isTerminal(status as JobRecord['status'])) read().then(wake, () => wake(null));
  }, { beforeSubmit });
  return { ended, stop };
}

export interface WaitOptions {
  /** A subscription started before the job could end (the synchronous path starts it alongside the submit). */
  watch?: Promise<EndWatch>;
  /** The record as the caller already has it, saving the first read. */
  known?: JobRecord;
}

/**
 * The tenant's job once it reaches a terminal status, or as it is after `timeoutMs`. Woken by the
 * job's status channel, never by polling Redis: the watcher reads the status once per job after
 * subscribing (so an end between the first read and the subscription is seen) and again after a
 * reconnect. The time limit covers the subscription too (a subscriber that cannot reach Redis does
 * not hold the wait). `signal` ends the wait early (client gone).
 */
export async function waitForJob(deps: WaitDeps, id: string, tenant: string, timeoutMs: number, signal?: AbortSignal, options: WaitOptions = {}): Promise<JobRecord> {
  const stopLater = (watching: Promise<EndWatch> | undefined): void => void watching?.then((watch) => watch.stop(), () => undefined);
  const first = options.known ?? (await deps.store.getForTenant(id, tenant));
  if (first === null) {
    stopLater(options.watch);
    throw notFound('job', id);
  }
  if (isTerminal(first.status) || timeoutMs <= 0) {
    stopLater(options.watch);
    return first;
  }
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  const timer = setTimeout(wake, timeoutMs);
  signal?.addEventListener('abort', wake, { once: true });
  if (signal?.aborted) wake();
  const watching = options.watch ?? watchForEnd(deps, id);
  let delivered: JobRecord | null = null;
  watching.then(
    (watch) => void watch.ended.then((record) => {
      delivered = record;
      wake();
    }),
    () => wake(), // no subscription: answer with the job as it is
  );
  try {
    await woken;
    const known = delivered as JobRecord | null;
    return known?.tenant === tenant ? known : ((await deps.store.get(id)) ?? first);
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', wake);
    stopLater(watching);
  }
}
