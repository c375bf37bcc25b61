import { Cluster, Redis, type ChainableCommander, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

/** Where Redis is: one server, or the seed nodes of a Redis Cluster. */
export interface RedisLocation {
  url: string;
  /** Seed nodes (`redis://host:port`) of a Redis Cluster; when given, `url` is not used. */
  cluster_nodes?: string[] | undefined;
}

/** True for a Redis Cluster client (its commands are routed per key slot). */
export const isCluster = (redis: Redis): boolean => (redis as unknown as { isCluster?: boolean }).isCluster === true;

/**
 * A pipeline for commands on keys in different slots. One server: a real pipeline (one round trip).
 * A Cluster: each command goes to its own node in parallel (ioredis auto-pipelines them per node),
 * with the same `exec()` result shape, since a cluster pipeline must stay within one slot.
 */
export function multiKey(redis: Redis): ChainableCommander {
  if (!isCluster(redis)) return redis.pipeline();
  const calls: [string, unknown[]][] = [];
  const proxy: ChainableCommander = new Proxy({} as ChainableCommander, {
    get(_target, name) {
      if (name === 'exec') {
        return () =>
          Promise.all(
            calls.map(([command, args]) =>
              ((redis as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[command] as (...a: unknown[]) => Promise<unknown>)
                .apply(redis, args)
                .then((result) => [null, result] as [null, unknown], (error: Error) => [error, null] as [Error, null]),
            ),
          );
      }
      if (name === 'then') return undefined;
      return (...args: unknown[]) => {
        calls.push([String(name), args]);
        return proxy;
      };
    },
  });
  return proxy;
}

export interface RedisConnectionOptions {
  /**
   * `command`: fails fast while Redis is away (API handlers answer 503 instead of hanging).
   * `worker`: waits out outages, as BullMQ's blocking connections require.
   */
  role: 'command' | 'worker';
  /** Name shown by CLIENT LIST. */
  connectionName?: string;
  /**
   * Send every command issued in one event-loop turn in one socket write. Default true. Off for a
   * connection that only BullMQ uses: ioredis copies every defined script into each pipeline it
   * builds, and BullMQ defines dozens.
   */
  autoPipelining?: boolean;
}

/** One ioredis client with the settings BullMQ documents for producers and for workers. */
export function createRedis(location: RedisLocation | string, options: RedisConnectionOptions): Redis {
  const { url, cluster_nodes: nodes } = typeof location === 'string' ? { url: location, cluster_nodes: undefined } : location;
  // Reconnect forever with a capped backoff: Redis restarts must not need a gateway restart.
  const backoff = (times: number): number => Math.min(200 * 2 ** Math.min(times, 6), 5_000);
  // Auto-pipelining sends every command issued in one event-loop turn in one socket write: with many
  // jobs in flight that is most of a job's Redis cost (a write per command otherwise).
  const shared: RedisOptions = { connectionName: options.connectionName, retryStrategy: backoff, lazyConnect: false, enableAutoPipelining: options.autoPipelining ?? true };
  const perRole: RedisOptions =
    options.role === 'worker' ? { maxRetriesPerRequest: null, enableOfflineQueue: true } : { maxRetriesPerRequest: 1, enableOfflineQueue: false };
  if (nodes !== undefined && nodes.length > 0) {
    const seeds = nodes.map((node) => {
      const parsed = new URL(node);
      return { host: parsed.hostname, port: Number(parsed.port || 6379) };
    });
    const first = new URL(nodes[0] ?? url);
    const cluster = new Cluster(seeds, {
      clusterRetryStrategy: backoff,
      enableOfflineQueue: perRole.enableOfflineQueue ?? true,
      enableAutoPipelining: options.autoPipelining ?? true,
      // Node connections take ioredis's own settings for them: made lazily at their first command
      // (which waits in the node's offline queue), never reconnecting by themselves (the Cluster
      // refreshes its slots instead). An eager node (`lazyConnect: false` here) could still be
      // connecting when the Cluster's ready check reached it; without the Cluster's offline queue
      // that check was refused, and the Cluster reconnected with backoff, over 10 s now and then.
      redisOptions: {
        connectionName: options.connectionName,
        maxRetriesPerRequest: perRole.maxRetriesPerRequest,
        username: first.username || undefined,
        password: first.password ? decodeURIComponent(first.password) : undefined,
        tls: first.protocol === 'rediss:' ? {} : undefined,
      },
    });
    // BullMQ and this code use the same command API on both; the class differs only in routing.
    return cluster as unknown as Redis;
  }
  return new Redis(url, { ...shared, ...perRole });
}

/**
 * Resolves once the client is ready, or rejects after `timeoutMs`. On a Cluster, it also waits (within
 * the same time) for every master's connection: node connections are made at their first command,
 * and a command-role Cluster refuses (then retries a moment later) a command to a node still
 * connecting, so the first burst of requests would wait. A master that cannot be reached does not
 * fail it (whether the Cluster can serve is its ready check's `cluster_state`): that shard's
 * commands fail until it is back.
 */
export async function waitUntilReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  await readyEvent(redis, timeoutMs);
  if (!isCluster(redis)) return;
  const masters = (redis as unknown as Cluster).nodes('master');
  if (masters.length === 0) throw new Error('Redis Cluster has no master serving slots');
  // A node's PING waits in its own offline queue while it connects.
  const connected = Promise.all(masters.filter((node) => node.status !== 'ready').map((node) => node.ping().catch(() => undefined)));
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
  });
  await Promise.race([connected, late]);
  clearTimeout(timer);
}

async function readyEvent(redis: Redis, timeoutMs: number): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis not ready after ${timeoutMs} ms`));
    }, timeoutMs);
    const onReady = (): void => {
      cleanup();
      resolve();
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** True when a Redis at `url` answers PING within `timeoutMs`. Never throws. */
export async function pingRedis(url: string, timeoutMs = 1_000): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, connectTimeout: timeoutMs, enableOfflineQueue: false });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

/** A second connection like `redis` (for a subscriber), on one server or on the same Cluster. */
export function duplicateConnection(redis: Redis, options: RedisOptions = {}): Redis {
  if (isCluster(redis)) {
    // Cluster.duplicate replaces `redisOptions` whole: the node connections' credentials, TLS and
    // names are kept by merging them here. Whether commands wait while the Cluster is not ready is
    // the Cluster's own option (its nodes' always queue).
    const cluster = redis as unknown as Cluster;
    const queueing = options.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: options.enableOfflineQueue };
    return cluster.duplicate(undefined, { ...queueing, redisOptions: { ...cluster.options.redisOptions, ...options } }) as unknown as Redis;
  }
  return redis.duplicate(options);
}

/**
 * Resolves once `connection` is past its connection handshake. ioredis writes a SUBSCRIBE (or an
 * UNSUBSCRIBE) at once while it is in the `connect` state (the socket open, CLIENT SETNAME and its
 * INFO ready check still to come); the connection is then in subscriber mode, the check is refused,
 * and ioredis reports an unhandled rejection (ioredis issue 2037). Any other state is safe: before
 * the socket opens, or while reconnecting, commands wait in the offline queue, sent after the check.
 */
async function pastHandshake(connection: Redis): Promise<void> {
  for (;;) {
    // A Cluster replays what waited in its offline queue without this check: wait for it first.
    if (isCluster(connection) && connection.status !== 'ready') {
      if (connection.status === 'end') return;
      await firstOf(connection, ['ready', 'end']);
      continue;
    }
    const target = subscribingConnection(connection);
    if (target.status !== 'connect') return;
    await firstOf(target, ['ready', 'close', 'end']);
    // A Cluster may have picked another node's connection meanwhile: look again.
    if (!isCluster(connection)) return;
  }
}

/** Resolves at the first of `events` on `emitter`. */
function firstOf(emitter: Redis, events: readonly string[]): Promise<void> {
  return new Promise<void>((resolve) => {
    const settled = (): void => {
      for (const event of events) emitter.off(event, settled);
      resolve();
    };
    for (const event of events) emitter.once(event, settled);
  });
}

/** Where `connection`'s subscription commands go: itself, or a Cluster's subscriber connection (one node's, made and connected lazily). */
function subscribingConnection(connection: Redis): Redis {
  if (!isCluster(connection)) return connection;
  const subscriber = (connection as unknown as { subscriber?: { getInstance?(): Redis | null } }).subscriber;
  return subscriber?.getInstance?.() ?? connection;
}

/** Per connection, the last subscription command's turn to be sent. */
const turns = new WeakMap<Redis, Promise<void>>();

/**
 * Sends subscription commands in the order they were asked for, none during the handshake (see
 * `pastHandshake`): each waits only for the one before it to be sent, not answered.
 */
function inTurn(connection: Redis, send: () => Promise<unknown>): Promise<unknown> {
  let sent: Promise<unknown> = Promise.resolve();
  const turn = (turns.get(connection) ?? Promise.resolve()).then(() => pastHandshake(connection)).then(() => void (sent = send()));
  // One failed send must not fail the ones after it.
  turns.set(connection, turn.catch(() => undefined));
  return turn.then(() => sent);
}

/** SUBSCRIBE, in turn and never during the connection handshake. */
export function subscribe(connection: Redis, ...channels: string[]): Promise<unknown> {
  return inTurn(connection, () => connection.subscribe(...channels));
}

/** UNSUBSCRIBE, in turn with `subscribe`, so the two reach the server in the order asked. */
export function unsubscribe(connection: Redis, ...channels: string[]): Promise<unknown> {
  return inTurn(connection, () => connection.unsubscribe(...channels));
}

/**
 * Runs `issue` (which sends several commands without awaiting them) with the connection's socket
 * corked, so they leave in one write; the socket is uncorked right after, before any I/O.
 */
export function corked<T>(redis: Redis, issue: () => T): T {
  const stream = (redis as unknown as { stream?: { cork(): void; uncork(): void } }).stream;
  if (stream === undefined || isCluster(redis) || redis.status !== 'ready') return issue();
  stream.cork();
  try {
    return issue();
  } finally {
    process.nextTick(() => stream.uncork());
  }
}

/**
 * Closes a connection without waiting on a Redis that does not answer: QUIT when it is ready (replies
 * to commands already sent arrive first), else at once, or when QUIT takes longer than `timeoutMs`
 * (default 1000), drops the socket. QUIT alone on a connection that waits out outages (`role:
 * 'worker'`) would sit in its offline queue until Redis is back, possibly forever.
 */
export async function closeConnection(redis: Redis, timeoutMs = 1_000): Promise<void> {
  if (redis.status === 'end') return;
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const quit = redis.quit().then(
    () => true,
    () => false,
  );
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref();
  });
  const quitted = await Promise.race([quit, late]);
  clearTimeout(timer);
  if (!quitted) redis.disconnect();
}
