import { Redis, type RedisOptions } from 'ioredis';

export type { Redis } from 'ioredis';

export interface RedisConnectionOptions {
  /**
   * `command`: fails fast while Redis is away (API handlers answer 503 instead of hanging).
   * `worker`: waits out outages, as BullMQ's blocking connections require.
   */
  role: 'command' | 'worker';
  /** Name shown by CLIENT LIST. */
  connectionName?: string;
}

/** One ioredis client with the settings BullMQ documents for producers and for workers. */
export function createRedis(url: string, options: RedisConnectionOptions): Redis {
  const shared: RedisOptions = {
    connectionName: options.connectionName,
    // Reconnect forever with a capped backoff: Redis restarts must not need a gateway restart.
    retryStrategy: (times) => Math.min(200 * 2 ** Math.min(times, 6), 5_000),
    lazyConnect: false,
  };
  if (options.role === 'worker') {
    return new Redis(url, { ...shared, maxRetriesPerRequest: null, enableOfflineQueue: true });
  }
  return new Redis(url, { ...shared, maxRetriesPerRequest: 1, enableOfflineQueue: false });
}

/** Resolves once the client is ready, or rejects after `timeoutMs`. */
export async function waitUntilReady(redis: Redis, timeoutMs = 5_000): Promise<void> {
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
