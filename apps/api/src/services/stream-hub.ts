import { duplicateConnection, isCluster, logConnectionErrors, type Logger, type Redis } from '@sluice/shared';
import type { JobStreamEntry } from '@sluice/engine';
import { FollowedKey, ReadLoop, streamId, type FollowerHost, type Following, type ReadSettings } from './stream-read-loop.ts';

/** One reader of a job's stream: an HTTP response relaying its output. */
export interface StreamFollower {
  /**
   * Entries after the follower's position, in order (never empty; the array may be shared with other
   * followers, so it is read-only). May return a promise: until it settles the hub reads nothing more
   * for this follower, so a slow HTTP client backs up into Redis, never into the worker. A throw or a
   * rejection drops the follower: it is then told through `onError`.
   */
  onEntries(entries: readonly JobStreamEntry[]): void | Promise<void>;
  /** Reading failed for good (the hub closed, the key is not a stream): the follower should end its response. */
  onError(error: Error): void;
}

export interface StreamHub {
  /**
   * Follows `key` from after entry id `after` (`ms-seq`; '0-0' = from the start) until the returned
   * stop() is called (idempotent; nothing reaches the follower after it). Throws a RangeError when
   * `after` is not an entry id.
   */
  follow(key: string, after: string, follower: StreamFollower): () => void;
  /** Stops reading and disconnects; each follower still following is told once through `onError`. */
  close(): Promise<void>;
}

export interface StreamHubOptions {
  /** How long one XREAD waits for news: it only bounds how long an idle read sits. Default 5000 ms. */
  blockMs?: number;
  /** Entries one XREAD returns per key at most. Default 512. */
  count?: number;
}

/** The followed keys, and the loops reading them: one for all keys on one server, one per key on a Cluster. */
class RedisStreamHub implements StreamHub, FollowerHost {
  private readonly followed = new Map<string, FollowedKey>();
  private readonly settings: ReadSettings;
  /** The one loop of a single server; null on a Cluster, where an XREAD's keys must share a slot. */
  private readonly shared: ReadLoop | null;
  private closed = false;

  constructor(
    private readonly redis: Redis,
    private readonly logger: Logger,
    options: StreamHubOptions,
  ) {
    this.settings = { blockMs: options.blockMs ?? 5_000, count: options.count ?? 512 };
    this.shared = isCluster(redis) ? null : this.createLoop(() => this.followed.values()).start();
  }

  follow(key: string, after: string, follower: StreamFollower): () => void {
    const position = streamId(after);
    if (this.closed) {
      queueMicrotask(() => tell(follower, new Error('stream hub closed')));
      return () => undefined;
    }
    const followed = this.followed.get(key) ?? this.startFollowing(key);
    const following: Following = { followed, follower, after: position, waiting: false, stopped: false };
    followed.followers.add(following);
    followed.loop.wake(followed, position);
    return () => this.stop(following);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const keys = [...this.followed.values()];
    this.followed.clear();
    const loops = this.shared === null ? keys.map((followed) => followed.loop) : [this.shared];
    const followings = keys.flatMap((followed) => [...followed.followers]);
    for (const following of followings) following.stopped = true;
    await Promise.all(loops.map((loop) => loop.close()));
    for (const following of followings) tell(following.follower, new Error('stream hub closed'));
  }

  fail(following: Following, error: Error): void {
    if (following.stopped) return;
    this.logger.warn({ err: error.message, key: following.followed.key }, 'stream follower dropped');
    this.stop(following);
    tell(following.follower, error);
  }

  private startFollowing(key: string): FollowedKey {
    const loop: ReadLoop = this.shared ?? this.createLoop(() => [followed]);
    const followed: FollowedKey = new FollowedKey(key, loop, this);
    this.followed.set(key, followed);
    if (loop !== this.shared) loop.start();
    return followed;
  }

  /** Drops a follower; the last one out of a key takes the key out of the reads (and closes its Cluster loop). */
  private stop(following: Following): void {
    if (following.stopped) return;
    following.stopped = true;
    const { followed } = following;
    followed.followers.delete(following);
    if (followed.followers.size > 0 || this.followed.get(followed.key) !== followed) return;
    this.followed.delete(followed.key);
    if (followed.loop !== this.shared) void followed.loop.close();
  }

  private createLoop(keys: () => Iterable<FollowedKey>): ReadLoop {
    const cluster = isCluster(this.redis);
    // One server: a read in flight fails as soon as the connection drops (never resent on a new
    // connection whose CLIENT ID is unknown) and the loop reads again once it is back. A Cluster
    // loop is never unblocked, so its reads may wait out an outage and be resent.
    const connection = duplicateConnection(
      this.redis,
      cluster ? { enableOfflineQueue: true, maxRetriesPerRequest: null } : { enableOfflineQueue: false, maxRetriesPerRequest: 0, autoResendUnfulfilledCommands: false, enableAutoPipelining: false },
    );
    logConnectionErrors(connection, this.logger, { connection: 'stream hub' });
    return new ReadLoop(connection, keys, cluster ? null : this.redis, this.logger, this.settings);
  }
}

/** Tells a follower reading is over; a follower that throws there is past helping. */
function tell(follower: StreamFollower, error: Error): void {
  try {
    follower.onError(error);
  } catch {
    // Nothing left to tell it.
  }
}

/**
 * The API process's reader of job streams (`jobStreamKey`), relaying a streamed job's output to HTTP
 * clients with blocking reads, never polling. On one server, one connection runs one `XREAD BLOCK`
 * over every followed key that has a follower ready for more, cut short with CLIENT UNBLOCK when a
 * follow starts or a follower catches up; on a Cluster, each followed key has its own loop and
 * connection, and a follower that joins or catches up behind that key's read in flight waits for it
 * to return (the next entry, or `blockMs`). Each follower gets every entry after its own position,
 * once and in order; one that is slow holds back only itself.
 */
export function createStreamHub(redis: Redis, logger: Logger, options: StreamHubOptions = {}): StreamHub {
  return new RedisStreamHub(redis, logger, options);
}
