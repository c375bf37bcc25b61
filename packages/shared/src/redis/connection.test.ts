import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { closeConnection, createRedis, waitUntilReady } from './connection.ts';

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
    await closeConnection(redis);
    expect(Date.now() - started).toBeLessThan(100);
  });
});
