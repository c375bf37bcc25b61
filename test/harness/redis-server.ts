import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pingRedis } from '@sluice/shared';

export interface TestRedis {
  url: string;
  /** Where it came from: `REDIS_URL`, `testcontainers` or `redis-server`. */
  origin: string;
  /** The redis-server child's port, when the harness started one (tests that restart Redis need it). */
  stop(): Promise<void>;
}

/** A free TCP port on loopback (`--port 0` would disable TCP in Redis, so one is picked first). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface RedisServerOptions {
  /** Extra redis-server arguments (they win over the defaults: `--appendonly yes` turns AOF on). */
  args?: string[];
  /** Reuse a port and data dir, e.g. to restart a stopped server on the same data. */
  port?: number;
  dir?: string;
  /** Keep the data dir when stopping (to restart on it). */
  keepDir?: boolean;
}

/** Starts `redis-server` on a free loopback port with its own temp dir; nothing persisted unless asked. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<TestRedis & { port: number; dir: string }> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'sluice-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', ...(options.args ?? [])], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await pingRedis(url, 300))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('redis-server did not answer in 10 s');
    await sleep(50);
  }
  return {
    url,
    port,
    dir,
    origin: 'redis-server',
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      if (!options.keepDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function tryTestcontainers(): Promise<TestRedis | null> {
  try {
    const { getContainerRuntimeClient } = await import('testcontainers');
    await Promise.race([getContainerRuntimeClient(), sleep(5_000).then(() => Promise.reject(new Error('no answer')))]);
  } catch {
    return null; // no Docker engine answers: fall back to a local redis-server
  }
  const { RedisContainer } = await import('@testcontainers/redis');
  const container = await new RedisContainer('redis:7.4').start();
  return { url: container.getConnectionUrl(), origin: 'testcontainers', stop: async () => void (await container.stop()) };
}

/** REDIS_URL if set, else a testcontainers Redis when Docker answers, else a redis-server child. */
export async function acquireRedis(): Promise<TestRedis> {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, origin: 'REDIS_URL', stop: async () => undefined };
  return (await tryTestcontainers()) ?? (await startRedisServer());
}
