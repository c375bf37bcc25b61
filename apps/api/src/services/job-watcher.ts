import { duplicateConnection, logConnectionErrors, subscribe, unsubscribe, type Logger, type Redis } from '@sluice/shared';
import { decodeJobEvent, jobEventsChannel, jobRecordKey, TERMINAL_STATUSES, type JobRecord } from '@sluice/engine';

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
  /** The server confirmed the subscription (so the connection should count it from then on). */
  confirmed: boolean;
  /** The newest status the channel or a safety read said, with the shared read of the record. */
  last: { status: string; read: RecordRead } | null;
}

/**
 * The channels an ioredis connection counts itself subscribed to (its `condition`, not part of its
 * typed API: null if a version lacks it).
 */
function subscribedChannels(connection: Redis): Set<string> | null {
  const condition = (connection as unknown as { condition?: { subscriber?: false | { channels(kind: string): string[] } } }).condition;
  if (condition === undefined) return null;
  return new Set(condition.subscriber ? condition.subscriber.channels('subscribe') : []);
}

/** A channel's job id: the last `:`-separated part of `jobEventsChannel`. */
const idOf = (channel: string): string => channel.slice(channel.lastIndexOf(':') + 1);

/**
 * The record as of one announcement: the snapshot a success carries, else one read shared by every
 * listener (a thousand event streams on one job cost one read per change, not a thousand).
 */
function recordRead(readRecord: (jobId: string) => Promise<JobRecord | null>, jobId: string, snapshot: (() => JobRecord | null) | null): RecordRead {
  let record: Promise<JobRecord | null> | null = null;
  return () => {
    if (record === null) {
      const parsed = snapshot === null ? null : snapshot();
      record = parsed === null ? readRecord(jobId) : Promise.resolve(parsed);
    }
    return record;
  };
}

/** How often every watched job's status is read again, in case the news of a change was lost. */
const SAFETY_READ_MS = 3000;

class SubscriberJobWatcher implements JobWatcher {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly logger: Logger;
  private readonly readRecord: (jobId: string) => Promise<JobRecord | null>;
  private readonly subscriber: Redis;
  private readonly watched = new Map<string, Watched>();
  /** Set by the first `ready`: every later one is a reconnect. */
  private connectedBefore = false;
  private readonly safety: NodeJS.Timeout;

  constructor(redis: Redis, prefix: string, logger: Logger, readRecord: (jobId: string) => Promise<JobRecord | null>, safetyReadMs: number) {
    this.redis = redis;
    this.prefix = prefix;
    this.logger = logger;
    this.readRecord = readRecord;
    this.subscriber = duplicateConnection(redis, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    logConnectionErrors(this.subscriber, logger, { connection: 'job watcher' });
    this.subscriber.on('message', (channel: string, message: string) => this.onMessage(channel, message));
    this.subscriber.on('ready', () => this.onReady());
    // A status read of every watched job every few seconds, one per job however many wait on it: an
    // end whose news was lost still wakes them. (The loss seen under heavy test load was a SUBSCRIBE
    // sent during the connection handshake, which `subscribe` now prevents; this stays as a backstop.)
    this.safety = setInterval(() => {
      this.resubscribeLost();
      void this.check([...this.watched.keys()], 'safety read').catch((error: Error) => this.logger.warn({ err: error.message }, 'job watcher could not re-read watched jobs'));
    }, safetyReadMs);
    this.safety.unref();
  }

  async watch(jobId: string, listener: StatusListener, options: WatchOptions = {}): Promise<() => void> {
    const channel = jobEventsChannel(this.prefix, jobId);
    const entry = this.watched.get(channel) ?? this.startWatching(channel, options.beforeSubmit === true);
    entry.listeners.add(listener);
    const stop = (): void => this.leave(channel, entry, listener);
    try {
      await entry.subscribed;
    } catch (error) {
      stop();
      throw error;
    }
    this.tellLast(entry, listener);
    return stop;
  }

  async close(): Promise<void> {
    clearInterval(this.safety);
    this.subscriber.disconnect();
  }

  /** Starts listening to a channel; unless the job is not submitted yet, its status is read once subscribed. */
  private startWatching(channel: string, beforeSubmit: boolean): Watched {
    const subscribing = subscribe(this.subscriber, channel);
    const entry: Watched = { listeners: new Set(), subscribed: subscribing, confirmed: false, last: null };
    const confirmed = subscribing.then(() => void (entry.confirmed = true));
    entry.subscribed = beforeSubmit ? confirmed : confirmed.then(() => this.check([channel]));
    this.watched.set(channel, entry);
    return entry;
  }

  /** Drops one listener; the last one out unsubscribes (unless the channel was watched afresh since). */
  private leave(channel: string, entry: Watched, listener: StatusListener): void {
    entry.listeners.delete(listener);
    if (entry.listeners.size === 0 && this.watched.get(channel) === entry) {
      this.watched.delete(channel);
      void unsubscribe(this.subscriber, channel).catch(() => undefined);
    }
  }

  /** A listener joining a job already watched hears the status last seen, after `watch` has returned its stop. */
  private tellLast(entry: Watched, listener: StatusListener): void {
    if (entry.last === null) return;
    const { status, read } = entry.last;
    queueMicrotask(() => {
      if (entry.listeners.has(listener)) listener(status, read);
    });
  }

  /** A message is `status`, or `status\n<json>` with the record a success carries. */
  private onMessage(channel: string, message: string): void {
    const entry = this.watched.get(channel);
    if (entry === undefined) return;
    const event = decodeJobEvent(message);
    this.announce(entry, channel, event.status, event.snapshot);
  }

  private onReady(): void {
    if (this.connectedBefore) {
      // Messages published while the subscriber was away are lost: look at every watched job once.
      void this.check([...this.watched.keys()]).catch((error: Error) => this.logger.warn({ err: error.message }, 'job watcher could not re-read watched jobs after reconnecting'));
    }
    this.connectedBefore = true;
  }

  /**
   * Subscribes again to channels the server once confirmed but the connection no longer counts (a
   * subscription lost without a reconnect), so a long job's later changes are heard again, not only
   * its end through the safety read.
   */
  private resubscribeLost(): void {
    const tracked = subscribedChannels(this.subscriber);
    // While reconnecting, ioredis subscribes to everything again by itself.
    if (this.subscriber.status !== 'ready' || tracked === null) return;
    const lost = [...this.watched].filter(([channel, entry]) => entry.confirmed && !tracked.has(channel)).map(([channel]) => channel);
    if (lost.length === 0) return;
    this.logger.warn({ channels: lost.length }, 'job watcher found subscriptions it had lost; subscribing again');
    void subscribe(this.subscriber, ...lost).catch((error: Error) => this.logger.warn({ err: error.message }, 'job watcher could not subscribe again'));
  }

  /** One status read for each of `channels`, told to their listeners when it is news. */
  private async check(channels: string[], by?: string): Promise<void> {
    if (channels.length === 0) return;
    const statuses = await Promise.all(channels.map((channel) => this.redis.hget(jobRecordKey(this.prefix, idOf(channel)), 'status')));
    channels.forEach((channel, index) => {
      const entry = this.watched.get(channel);
      const status = statuses[index];
      // No record yet (a synchronous call subscribes before it submits) or any more: nothing to tell.
      if (entry === undefined || status === null || status === undefined) return;
      if (by !== undefined && TERMINAL.has(status) && !TERMINAL.has(entry.last?.status ?? '')) void this.reportLost(channel, status, entry.last?.status ?? null, by);
      this.announce(entry, channel, status, null);
    });
  }

  /**
   * Logs an end the channel never announced, with what the server and this connection say of the
   * subscription (subscribers of the channel now; whether ioredis counts it), to tell a dropped
   * subscription from a dropped message. Only an end at least a second old counts: a younger one's
   * message may simply not have been read yet (a busy process reads the two connections in any order).
   */
  private async reportLost(channel: string, status: string, last: string | null, by: string): Promise<void> {
    const [completedAt, numsub] = await Promise.all([
      this.redis.hget(jobRecordKey(this.prefix, idOf(channel)), 'completed_at').catch(() => null),
      this.redis.pubsub('NUMSUB', channel).catch(() => null),
    ]);
    if (completedAt === null || Math.floor(Date.now() / 1000) - Number(completedAt) < 2) return;
    const subscribers = numsub === null ? null : Number((numsub as unknown[])[1]);
    const tracked = subscribedChannels(this.subscriber)?.has(channel) ?? null;
    this.logger.warn({ job_id: idOf(channel), status, last, by, subscribers, tracked, subscriber_status: this.subscriber.status }, 'job watcher found an end whose news never came');
  }

  private announce(entry: Watched, channel: string, status: string, snapshot: (() => JobRecord | null) | null): void {
    if (entry.last?.status === status && snapshot === null) return;
    // An end stays the end: a safety read that raced the news (another connection) cannot undo it.
    if (entry.last !== null && TERMINAL.has(entry.last.status) && !TERMINAL.has(status)) return;
    const read = recordRead(this.readRecord, idOf(channel), snapshot);
    entry.last = { status, read };
    for (const listener of [...entry.listeners]) listener(status, read);
  }
}

/**
 * One subscriber connection per API process, shared by every request waiting on a job: a channel is
 * subscribed while at least one request listens to it, so waiting costs no polling of Redis. The
 * status is read once per job (not per waiter) right after subscribing, and again for every watched
 * job after the subscriber reconnects: pub/sub loses messages only while disconnected.
 */
export function createJobWatcher(
  redis: Redis, prefix: string, logger: Logger, readRecord: (jobId: string) => Promise<JobRecord | null>, options: { safetyReadMs?: number } = {},
): JobWatcher {
  return new SubscriberJobWatcher(redis, prefix, logger, readRecord, options.safetyReadMs ?? SAFETY_READ_MS);
}
