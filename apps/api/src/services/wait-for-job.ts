import { isTerminal, parseJobSnapshot, type JobRecord } from '@sluice/shared';
import { notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';

const SAFETY_POLL_MS = 2_000;

/** A live subscription to one job's terminal status. */
export interface EndWatch {
  /** Resolves at the first terminal status, with the record when the news carried it. */
  ended: Promise<JobRecord | null>;
  stop(): void;
}

/** Subscribes to a job's status channel; `ended` resolves at its first terminal status. */
export async function watchForEnd(deps: ApiDeps, id: string): Promise<EndWatch> {
  let wake: (record: JobRecord | null) => void = () => undefined;
  const ended = new Promise<JobRecord | null>((resolve) => (wake = resolve));
  const stop = await deps.watcher.watch(id, (status, snapshot) => {
    if (!isTerminal(status as JobRecord['status'])) return;
    let record: JobRecord | null = null;
    try {
      record = snapshot === null ? null : parseJobSnapshot(JSON.parse(snapshot));
    } catch {
      record = null; // read it back instead
    }
    wake(record);
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
  // A subscription made before the job existed cannot miss its end; one made now could miss an end
  // that happened since the first read, so that case reads again at once.
  const subscribedEarly = options.watch !== undefined;
  const watch = options.watch ?? (await watchForEnd(deps, id));
  let wake: () => void = () => undefined;
  const woken = new Promise<void>((resolve) => (wake = resolve));
  let delivered: JobRecord | null = null;
  void watch.ended.then((record) => {
    delivered = record;
    wake();
  });
  const timer = setTimeout(wake, timeoutMs);
  signal?.addEventListener('abort', wake, { once: true });
  // Belt and braces against a lost pub/sub message (a Redis failover, say): look every few seconds.
  const safety = setInterval(() => {
    void deps.store.get(id).then((record) => (record === null || isTerminal(record.status) ? wake() : undefined), () => undefined);
  }, SAFETY_POLL_MS);
  try {
    if (!subscribedEarly) {
      const again = await deps.store.get(id);
      if (again === null || isTerminal(again.status)) return again ?? first;
    }
    await woken;
    const known = delivered as JobRecord | null;
    return known?.tenant === tenant ? known : ((await deps.store.get(id)) ?? first);
  } finally {
    clearTimeout(timer);
    clearInterval(safety);
    signal?.removeEventListener('abort', wake);
    watch.stop();
  }
}
