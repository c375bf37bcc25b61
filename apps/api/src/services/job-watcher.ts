import { duplicateConnection, logConnectionErrors, type Logger, type Redis } from '@sluice/shared';
import { jobEventsChannel, jobRecordKey, parseJobSnapshot, TERMINAL_STATUSES, type JobRecord } from '@sluice/engine';

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATUSES);

/** Reads the job record as of the status just announced: one read per change, shared by every listener. */
export type RecordRead = () => Promise<JobRecord | null>;

/** Called with each new status, and how to read the record as of it. */
export type StatusListener = (status: string, read: RecordRead) => void;

export interface JobWatcher {
  /**
   * Calls `listener` with each new status of the job until the returned function is called. A
   * listener that joins a job already watched is told the status last seen at once, so a change
   * between the caller's own read and its joining is never missed.
   */
  watch(jobId: string, listener: StatusListener, options?: WatchOptions): Promise<() => void>;
  close(): Promise<void>;
}

export interface WatchOptions {
  /**
   * The job does not exist yet (a synchronous call subscribes before it submits), so no change can
   * have been missed and the status read after subscribing is skipped. Default false.
   */
  beforeSubmit?: boolean;
}

interface Watched {
  listeners: Set<StatusListener>;
  subscribed: Promise<unknown>;
  /** The newest status the channel or a safety read said, with the shared read of the record. */
  last: { status: string; read: RecordRead } | null;
}

/**
 * One subscriber connection per API process, shared by every request waiting on a job: a channel is
 * subscribed while at least one request listens to it, so waiting costs no polling of Redis. The
 * status is read once per job (not per waiter) right after subscribing, and again for every watched
 * job after the subscriber reconnects: pub/sub loses messages only while disconnected.
 */
export function createJobWatcher(redis: Redis, prefix: string, logger: Logger, readRecord: (jobId: string) => Promise<JobRecord | null>): JobWatcher {
  const subscriber = duplicateConnection(redis, { enableOfflineQueue: true, maxRetriesPerRequest: null });
  logConnectionErrors(subscriber, logger, { connection: 'job watcher' });
  const watched = new Map<string, Watched>();
  const idOf = (channel: string): string => channel.slice(channel.lastIndexOf(':') + 1);

  /**
   * The record as of one announcement: the snapshot a success carries, else one read shared by every
   * listener (a thousand event streams on one job cost one read per change, not a thousand).
   */
  const recordRead = (jobId: string, snapshot: string | null): RecordRead => {
    let record: Promise<JobRecord | null> | null = null;
    return () => {
      if (record === null) {
        let parsed: JobRecord | null = null;
        try {
          parsed = snapshot === null ? null : parseJobSnapshot(JSON.parse(snapshot));
        } catch {
          parsed = null; // read it back instead
        }
        record = parsed === null ? readRecord(jobId) : Promise.resolve(parsed);
      }
      return record;
    };
  };

  const announce = (entry: Watched, channel: string, status: string, snapshot: string | null): void => {
    if (entry.last?.status === status && snapshot === null) return;
    // An end stays the end: a safety read that raced the news (another connection) cannot undo it.
    if (entry.last !== null && TERMINAL.has(entry.last.status) && !TERMINAL.has(status)) return;
    const read = recordRead(idOf(channel), snapshot);
    entry.last = { status, read };
    for (const listener of [...entry.listeners]) listener(status, read);
  };

  subscriber.on('message', (channel: string, message: string) => {
    const entry = watched.get(channel);
    if (entry === undefined) return;
    const newline = message.indexOf('\n');
    announce(entry, channel, newline === -1 ? message : message.slice(0, newline), newline === -1 ? null : message.slice(newline + 1));
  });

  /** One status read for each of `channels`, told to their listeners when it is news. */
  const check = async (channels: string[]): Promise<void> => {
    if (channels.length === 0) return;
    const statuses = await Promise.all(channels.map((channel) => redis.hget(jobRecordKey(prefix, idOf(channel)), 'status')));
    channels.forEach((channel, index) => {
      const entry = watched.get(channel);
      const status = statuses[index];
      // No record yet (a synchronous call subscribes before it submits) or any more: nothing to tell.
      if (entry !== undefined && status !== null && status !== undefined) announce(entry, channel, status, null);
    });
  };

  let connectedBefore = false;
  subscriber.on('ready', () => {
    if (connectedBefore) {
      // Messages published while the subscriber was away are lost: look at every watched job once.
      void check([...watched.keys()]).catch((error: Error) => logger.warn({ err: error.message }, 'job watcher could not re-read watched jobs after reconnecting'));
    }
    connectedBefore = true;
  });

  return {
    async watch(jobId, listener, options = {}) {
      const channel = jobEventsChannel(prefix, jobId);
      let entry = watched.get(channel);
      if (entry === undefined) {
        const created: Watched = { listeners: new Set(), subscribed: Promise.resolve(), last: null };
        const subscribing = subscriber.subscribe(channel);
        created.subscribed = options.beforeSubmit ? subscribing : subscribing.then(() => check([channel]));
        entry = created;
        watched.set(channel, entry);
      }
      entry.listeners.add(listener);
      const joined = entry;
      const stop = (): void => {
        joined.listeners.delete(listener);
        if (joined.listeners.size === 0 && watched.get(channel) === joined) {
          watched.delete(channel);
          void subscriber.unsubscribe(channel).catch(() => undefined);
        }
      };
      try {
        await joined.subscribed;
      } catch (error) {
        stop();
        throw error;
      }
      if (joined.last !== null) {
        const { status, read } = joined.last;
        queueMicrotask(() => {
          if (joined.listeners.has(listener)) listener(status, read);
        });
      }
      return stop;
    },
    async close() {
      subscriber.disconnect();
    },
  };
}
