import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { client, testPrefix, userMessage } from './harness/gateway.ts';
import { ENTRY, spawnSluice, writeConfigFile, type SluiceProcess } from './harness/processes.ts';
import { startRedisServer } from './harness/redis-server.ts';

const GRACE_S = 2;
/** What a shutdown may take past the grace period, whatever Redis does. */
const MARGIN_S = 5;
const running: SluiceProcess[] = [];
const cleanups: (() => Promise<void> | void)[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill('SIGKILL')));
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The pid of the redis-server answering at `url`, to kill it the hard way. */
async function redisPid(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('server');
    return Number(/process_id:(\d+)/.exec(info)?.[1]);
  } finally {
    redis.disconnect();
  }
}

/** Log lines about a failed Redis connection, however a component words them. */
const isConnectionErrorLine = (line: Record<string, unknown>): boolean =>
  typeof line.msg === 'string' && /connection error|queue error|worker error/.test(line.msg);

/**
 * `npm start` on its own redis-server with a small grace period, and one job running on a provider
 * that takes a minute: a shutdown cannot wait for it.
 */
async function startWithRunningJob() {
  const redis = await startRedisServer();
  const pid = await redisPid(redis.url);
  const state = { redisAlive: true };
  cleanups.push(() => (state.redisAlive ? redis.stop() : rmSync(redis.dir, { recursive: true, force: true })));
  const file = writeConfigFile({
    server: { host: '127.0.0.1', port: 0, shutdown_grace_s: GRACE_S },
    redis: { url: redis.url, prefix: testPrefix() },
    auth: { disabled: true },
    providers: { mock: { type: 'mock', latency_ms: 60_000 } },
    routes: { default: ['mock/echo'] },
  });
  const start = spawnSluice(ENTRY.start, { GATEWAY_CONFIG: file }, mkdtempSync(join(tmpdir(), 'sluice-start-')));
  running.push(start);
  const gateway = client(String((await start.waitForLog((line) => line.msg === 'api listening')).url), null);
  const submitted = await gateway.post('/v1/jobs', { model: 'default', messages: userMessage('left running') });
  expect(submitted.status).toBe(202);
  await gateway.waitForJob(submitted.body.id, (job) => job.status === 'running', 5_000);
  const killRedis = (): void => {
    process.kill(pid, 'SIGKILL');
    state.redisAlive = false;
  };
  return { start, killRedis };
}

/** Sends SIGTERM; resolves with the exit code (or 'still running') and how long it took. */
async function terminate(start: SluiceProcess): Promise<{ code: number | null | 'still running'; exitMs: number }> {
  const signaledAt = Date.now();
  start.child.kill('SIGTERM');
  const code = await Promise.race([start.exited, sleep((GRACE_S + MARGIN_S + 3) * 1000).then(() => 'still running' as const)]);
  return { code, exitMs: Date.now() - signaledAt };
}

describe('npm start shutting down', () => {
  it('with its Redis gone: exits within the grace period plus 5 s, non-zero, logging connection errors with backoff', async () => {
    const { start, killRedis } = await startWithRunningJob();
    killRedis();
    const linesBefore = start.logs.length;
    await sleep(2_000);
    const { code, exitMs } = await terminate(start);
    const errorLines = start.logs.slice(linesBefore).filter(isConnectionErrorLine);

    expect(code).not.toBe('still running');
    expect(exitMs).toBeLessThan((GRACE_S + MARGIN_S) * 1000);
    expect(code).not.toBe(0);
    const messages = start.logs.map((line) => String(line.msg));
    expect(messages).toContain('shutting down');
    expect(messages.some((message) => message.includes('running jobs are left to stall recovery'))).toBe(true);
    // Eight connections retry for four seconds: without backoff that is dozens of lines.
    expect(errorLines.length, JSON.stringify(errorLines.map((line) => [line.msg, line.err]))).toBeLessThanOrEqual(8);
    expect(start.stdout()).not.toMatch(/redis:\/\/[^\s"]*@/);
  }, 25_000);

  it('with Redis up and a job outlasting the grace period: exits 0 soon after it, leaving the job to stall recovery', async () => {
    const { start } = await startWithRunningJob();
    const { code, exitMs } = await terminate(start);
    expect(code).toBe(0);
    expect(exitMs).toBeLessThan((GRACE_S + MARGIN_S) * 1000);
    expect(start.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['grace period over: closing without waiting further; jobs still running will be re-run after their lock expires', 'worker stopped']));
  }, 25_000);
});
