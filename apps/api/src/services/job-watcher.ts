import { duplicateConnection, jobEventsChannel, logConnectionErrors, type Logger, type Redis } from '@sluice/shared';

/** Called with each new status; after a success, `snapshot` may carry the record as written. */
export type StatusListener = (status: string, snapshot: string | null) => void;

export interface JobWatcher {
  /** Calls `listener` with each new status of the job until the returned function is called. */
  watch(jobId: string, listener: StatusListener): Promise<() => void>;
  close(): Promise<void>;
}

/**
 * One subscriber connection per API process, shared by every request waiting on a job: a channel is
 * subscribed while at least one request listens to it, so waiting costs no polling of Redis.
 */
export function createJobWatcher(redis: Redis, prefix: string, logger: Logger): JobWatcher {
  const subscriber = duplicateConnection(redis, { enableOfflineQueue: true, maxRetriesPerRequest: null });
  logConnectionErrors(subscriber, logger, { connection: 'job watcher' });
  const listeners = new Map<string, Set<StatusListener>>();
  const subscriptions = new Map<string, Promise<unknown>>();
  subscriber.on('message', (channel: string, message: string) => {
    const newline = message.indexOf('\n');
    const status = newline === -1 ? message : message.slice(0, newline);
    const snapshot = newline === -1 ? null : message.slice(newline + 1);
    for (const listener of listeners.get(channel) ?? []) listener(status, snapshot);
  });
  return {
    async watch(jobId, listener) {
      const channel = jobEventsChannel(prefix, jobId);
      let set = listeners.get(channel);
      if (set === undefined) {
        set = new Set();
        listeners.set(channel, set);
        subscriptions.set(channel, subscriber.subscribe(channel));
      }
      set.add(listener);
      // Every watcher waits for the subscription, so none re-reads the job before events can arrive.
      await subscriptions.get(channel);
      return () => {
        const current = listeners.get(channel);
        if (current === undefined) return;
        current.delete(listener);
        if (current.size === 0) {
          listeners.delete(channel);
          subscriptions.delete(channel);
          void subscriber.unsubscribe(channel).catch(() => undefined);
        }
      };
    },
    async close() {
      subscriber.disconnect();
    },
  };
}
