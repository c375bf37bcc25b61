import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import { startApi, type ApiRuntime } from '@sluice/api';
import { Redis } from 'ioredis';
import { createLogger, type ChatCompletion, type GatewayConfig, type GatewayConfigInput } from '@sluice/shared';
import { parseConfig } from '@sluice/providers';
import { type JobObject, type JobResult } from '@sluice/engine';
import { startWorker, type WorkerRuntime } from '@sluice/worker';

export const KEYS = { acme: 'sk-test-acme-0001', globex: 'sk-test-globex-0002', admin: 'sk-test-admin-0003' } as const;

/** A fresh key prefix per test file or test: suites share one Redis and never see each other's keys. */
export const testPrefix = (): string => `t${randomBytes(5).toString('hex')}`;

/** A validated config on the test Redis, port 0, with three keys (two tenants and an admin). */
export function makeConfig(input: Partial<GatewayConfigInput> & Pick<GatewayConfigInput, 'providers'>, prefix = testPrefix()): GatewayConfig {
  const tree = {
    server: { host: '127.0.0.1', port: 0, shutdown_grace_s: 10 },
    auth: {
      keys: [
        { key: KEYS.acme, tenant: 'acme', role: 'tenant' },
        { key: KEYS.globex, tenant: 'globex', role: 'tenant' },
        { key: KEYS.admin, tenant: 'ops', role: 'admin' },
      ],
    },
    log_level: 'info',
    ...input,
    redis: { url: inject('redisUrl'), prefix, ...(input.redis ?? {}) },
  };
  return parseConfig(tree, {}, 'test').config;
}

export interface Gateway {
  url: string;
  config: GatewayConfig;
  api: ApiRuntime | null;
  worker: WorkerRuntime | null;
  /** Every log line both halves wrote, as JSON text. */
  logs: string[];
  startWorker(): Promise<WorkerRuntime>;
  close(): Promise<void>;
}

/** API and worker in this process, with logs captured. */
export async function startGateway(config: GatewayConfig, parts: { api?: boolean; worker?: boolean } = {}): Promise<Gateway> {
  const logs: string[] = [];
  const logger = createLogger({ level: config.log_level, destination: { write: (line: string) => void logs.push(line) } });
  const gateway: Gateway = {
    url: '',
    config,
    api: null,
    worker: null,
    logs,
    async startWorker() {
      gateway.worker = await startWorker(config, logger.child({ role: 'worker' }));
      return gateway.worker;
    },
    async close() {
      await gateway.api?.close();
      await gateway.worker?.close(2_000);
      // A test cluster is thrown away whole; one server is shared, so only this prefix goes.
      if (config.redis.cluster_nodes === undefined) await deletePrefix(config.redis.url, config.redis.prefix);
    },
  };
  if (parts.worker ?? true) await gateway.startWorker();
  if (parts.api ?? true) {
    gateway.api = await startApi(config, logger.child({ role: 'api' }));
    gateway.url = gateway.api.url;
  }
  return gateway;
}

/** Removes every key under a test prefix (never anything else). */
export async function deletePrefix(url: string, prefix: string): Promise<void> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** A tiny HTTP client for the gateway, with a bearer key. */
export function client(baseUrl: string, key: string | null = KEYS.acme) {
  const send = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(key ? { authorization: `Bearer ${key}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // leave text
    }
    return { status: response.status, headers: response.headers, body: parsed };
  };
  return {
    get: (path: string, headers?: Record<string, string>) => send('GET', path, undefined, headers),
    post: (path: string, body?: unknown, headers?: Record<string, string>) => send('POST', path, body, headers),
    send,
    /** Polls a job until `done(job)` holds or the time runs out; `Result` names the kind of answer (a chat job's unless named). */
    async waitForJob<Result extends JobResult = ChatCompletion>(id: string, done: (job: JobObject<Result>) => boolean = (job) => ['succeeded', 'failed', 'canceled', 'expired'].includes(job.status), timeoutMs = 15_000): Promise<JobObject<Result>> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const reply = await send('GET', `/v1/jobs/${id}`);
        if (reply.status !== 200) throw new Error(`GET job ${id}: ${reply.status} ${JSON.stringify(reply.body)}`);
        const job = reply.body as JobObject<Result>;
        if (done(job)) return job;
        if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}

export const userMessage = (content: string) => [{ role: 'user' as const, content }];

/** Polls `check` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`${what} not reached after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
