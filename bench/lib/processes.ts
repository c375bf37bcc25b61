import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startRedisServer } from '../../test/harness/redis-server.ts';
import { ROOT, TSX_LOADER } from '../../test/harness/processes.ts';

// The test harness's pieces, shared rather than written twice.
export { ROOT, writeConfigFile as writeConfig } from '../../test/harness/processes.ts';

export interface Child {
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Where Sluice's processes write CPU profiles (`npm run bench -- --profile <scenario>`); null: no profiling. */
let profileDir: string | null = null;
let profiled = 0;

/** Every process `runTs` starts from now on writes a `.cpuprofile` into `dir` when it exits. */
export function profileInto(dir: string): void {
  profileDir = dir;
}

/**
 * The node flags that profile one process into its own folder, named after its app or file
 * (`api-1`, `baseline-api-3`): node writes one profile per thread there (tsx's loader has one).
 */
function profileFlags(entry: string): string[] {
  if (profileDir === null) return [];
  profiled += 1;
  const app = /apps\/([^/]+)\//.exec(entry)?.[1] ?? basename(entry, '.ts');
  return ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, `${app}-${profiled}`)}`];
}

/** Keeps each profiled process's main-thread profile as `<dir>/<app>-<n>.cpuprofile`; returns their paths. */
export function collectProfiles(): string[] {
  if (profileDir === null || !existsSync(profileDir)) return [];
  const kept: string[] = [];
  for (const name of readdirSync(profileDir)) {
    const folder = join(profileDir, name);
    // Node names them CPU.<date>.<time>.<pid>.<thread>.<n>.cpuprofile; thread 0 is the main one.
    const main = readdirSync(folder).find((file) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(file));
    if (main === undefined) continue;
    const target = join(profileDir, `${name}.cpuprofile`);
    renameSync(join(folder, main), target);
    rmSync(folder, { recursive: true, force: true });
    kept.push(target);
  }
  return kept;
}

/** Runs a TypeScript entry under tsx; resolves once a stdout line matches `ready`. Output is drained, not kept. */
export async function runTs(entry: string, env: Record<string, string>, ready: RegExp, timeoutMs = 30_000): Promise<Child & { line: string }> {
  const child = spawn(process.execPath, [...profileFlags(entry), '--import', TSX_LOADER, entry], {
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
  return startRedisServer({ args: ['--maxmemory-policy', 'noeviction'] });
}
