import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pingRedis } from '@sluice/shared';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function redisServerOnPath(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

export interface EmbeddedRedis {
  child: ChildProcess;
  dir: string;
  stop(): Promise<void>;
}

/**
 * Starts `redis-server` for a laptop run, on the URL's loopback port with its data under `dir`
 * (AOF on, noeviction, as production wants). Resolves once it answers PING.
 */
export async function startEmbeddedRedis(url: string, dir: string): Promise<EmbeddedRedis> {
  const parsed = new URL(url);
  if (!LOOPBACK.has(parsed.hostname)) throw new Error(`will not start a local redis-server for non-loopback ${parsed.hostname}`);
  const port = parsed.port || '6379';
  const absolute = resolve(dir);
  mkdirSync(absolute, { recursive: true });
  const child = spawn(
    'redis-server',
    ['--port', port, '--bind', '127.0.0.1', '--dir', absolute, '--appendonly', 'yes', '--save', '', '--maxmemory-policy', 'noeviction', '--daemonize', 'no'],
    // Only what redis-server needs from the environment: keys and secrets there are none of its business.
    { stdio: 'ignore', env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '' } },
  );
  const exited = new Promise<never>((_, reject) => child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`))));
  exited.catch(() => undefined);
  const deadline = Date.now() + 10_000;
  while (!(await pingRedis(url, 500))) {
    if (child.exitCode !== null) await exited;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('redis-server did not answer within 10 s');
    }
    await sleep(100);
  }
  return {
    child,
    dir: absolute,
    async stop() {
      if (child.exitCode !== null) return;
      const done = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await done;
    },
  };
}
