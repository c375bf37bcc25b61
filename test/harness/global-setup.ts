import type { TestProject } from 'vitest/node';
import { acquireRedis } from './redis-server.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/** One Redis for the run (see acquireRedis); every test file isolates itself with its own key prefix. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const redis = await acquireRedis();
  console.log(`[harness] Redis for tests: ${redis.origin} ${new URL(redis.url).host}`);
  project.provide('redisUrl', redis.url);
  return () => redis.stop();
}
