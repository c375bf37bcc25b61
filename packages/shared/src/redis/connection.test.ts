import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { closeConnection, createRedis, duplicateConnection, subscribe, unsubscribe, waitUntilReady } from './connection.ts';

/** A loopback port nothing listens on. */
async function deadPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('closeConnection', () => {
  it('quits a ready connection', async () => {
    const redis = createRedis(inject('redisUrl'), { role: 'worker' });
    await waitUntilReady(redis);
    const ended = new Promise((resolve) => redis.once('end', resolve));
    await closeConnection(redis);
    expect(await Promise.race([ended.then(() => 'ended'), sleep(1_000).then(() => 'open')])).toBe('ended');
  });

  it('returns at once for a worker connection whose Redis is gone, where QUIT would wait for it', async () => {
    // Unpipelined, as the worker's connections are: each command joins the offline queue at once.
    const redis = createRedis(`redis://127.0.0.1:${await deadPort()}`, { role: 'worker', autoPipelining: false });
    redis.on('error', () => undefined);
    // (events.once would reject on the connection's 'error' event.)
    await new Promise((resolve) => redis.once('reconnecting', resolve));
    void redis.get('waiting').catch(() => undefined);
    const quit = redis.quit().then(() => 'quit');
    expect(await Promise.race([quit, sleep(300).then(() => 'still waiting')])).toBe('still waiting');
    const started = Date.now();
    // Given all the time QUIT could want, it still does not wait for it.
    await closeConnection(redis, 10_000);
    expect(Date.now() - started).toBeLessThan(500);
  });
});

describe('duplicateConnection', () => {
  it("keeps a Cluster's node options (credentials, TLS, name) and adds the subscriber's own", async () => {
    const port = await deadPort();
    const cluster = createRedis({ url: `rediss://user:p%40ss@127.0.0.1:${port}`, cluster_nodes: [`rediss://user:p%40ss@127.0.0.1:${port}`] }, { role: 'command', connectionName: 'api' });
    cluster.on('error', () => undefined);
    const subscriber = duplicateConnection(cluster, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    subscriber.on('error', () => undefined);
    try {
      const options = (subscriber as unknown as { options: { enableOfflineQueue: boolean; redisOptions: Record<string, unknown> } }).options;
      // The API's own connection fails fast (no offline queue); its subscriber waits for the Cluster.
      expect(options.enableOfflineQueue).toBe(true);
      expect(options.redisOptions).toMatchObject({ username: 'user', password: 'p@ss', tls: {}, connectionName: 'api', maxRetriesPerRequest: null });
    } finally {
      cluster.disconnect();
      subscriber.disconnect();
    }
  });
});

describe('subscribe', () => {
  it('a subscriber that subscribes during its connection handshake becomes ready, and hears its channel', async () => {
    const publisher = createRedis(inject('redisUrl'), { role: 'command', connectionName: 'publisher' });
    const subscriber = duplicateConnection(publisher, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    const failures: string[] = [];
    subscriber.on('error', (error: Error) => failures.push(error.message));
    try {
      // The socket is open, the handshake not done: ioredis writes a SUBSCRIBE at once then.
      subscriber.once('connect', () => void subscribe(subscriber, 'early').catch((error: Error) => failures.push(error.message)));
      await waitUntilReady(subscriber);
      await waitUntilReady(publisher);
      const heard = new Promise((resolve) => subscriber.once('message', (_channel: string, text: string) => resolve(text)));
      await new Promise((resolve) => setTimeout(resolve, 50));
      await publisher.publish('early', 'hello');
      expect(await Promise.race([heard, sleep(1_000).then(() => 'nothing')])).toBe('hello');
      expect(failures).toEqual([]);
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });
  it('subscriptions asked for during the handshake and after it reach the server in the order asked', async () => {
    const publisher = createRedis(inject('redisUrl'), { role: 'command', connectionName: 'publisher' });
    const subscriber = duplicateConnection(publisher, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    const heard: string[] = [];
    subscriber.on('message', (channel: string) => heard.push(channel));
    const asked: Promise<unknown>[] = [];
    try {
      subscriber.once('connect', () => {
        asked.push(subscribe(subscriber, 'gone'), unsubscribe(subscriber, 'gone'), subscribe(subscriber, 'kept'));
      });
      await waitUntilReady(subscriber);
      await waitUntilReady(publisher);
      asked.push(subscribe(subscriber, 'late'), unsubscribe(subscriber, 'late'), subscribe(subscriber, 'late'));
      await Promise.all(asked);
      for (const channel of ['gone', 'kept', 'late']) await publisher.publish(channel, 'x');
      await sleep(100);
      expect(heard).toEqual(['kept', 'late']);
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });
});
