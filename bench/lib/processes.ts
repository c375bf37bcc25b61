import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { pingRedis } from '@sluice/shared';

export const ROOT = resolve(import.meta.dirname, '../..');
const TSX_LOADER = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const address = server.address();
  await new Promise((done) => server.close(done));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

export interface Child {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Runs a TypeScript entry under tsx; resolves once a stdout line matches `ready`. Output is drained, not kept. */
export async function runTs(entry: string, env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<Child & { line: string }> {
  const child = spawn(process.execPath, ['--import', TSX_LOADER, entry], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errors = '';
  child.stderr?.on('data', (chunk: Buffer) => void (errors = (errors + chunk.toString()).slice(-4000)));
  const line = await new Promise<string>((done, fail) => {
    let partial = '';
    const timer = setTimeout(() => fail(new Error(`${entry} not ready in ${timeoutMs} ms: ${errors}`)), timeoutMs);
    const onData = (chunk: Buffer): void => {
      partial = (partial + chunk.toString()).slice(-100_000);
      const found = partial.split('\n').find((text) => ready.test(text));
      if (found !== undefined) {
        clearTimeout(timer);
        done(found);
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`${entry} exited (${code}) before ready: ${errors}`));
    });
  });
  child.stdout?.removeAllListeners('data');
  child.stdout?.resume(); // keep draining logs so the child never blocks on a full pipe
  return {
    child,
    line,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A throwaway redis-server (no persistence: both sides of every comparison share it). */
export async function startBenchRedis(): Promise<{ url: string; stop(): Promise<void> }> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-redis-'));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction'], { stdio: 'ignore' });
  const url = `redis://127.0.0.1:${port}`;
  const deadline = Date.now() + 10_000;
  while (!(await pingRedis(url, 300))) {
    if (Date.now() > deadline) throw new Error('bench redis-server did not start');
    await sleep(50);
  }
  return {
    url,
    async stop() {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

export function writeConfig(tree: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'sluice-bench-conf-')), 'gateway.yaml');
  writeFileSync(file, stringify(tree));
  return file;
}
