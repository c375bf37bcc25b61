import { mkdtempSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, deletePrefix, KEYS, testPrefix, userMessage } from './harness/gateway.ts';
import { ENTRY, spawnSluice, writeConfigFile, type SluiceProcess } from './harness/processes.ts';
import { startOtlpReceiver } from './harness/otlp-receiver.ts';
import { freePort } from './harness/redis-server.ts';

const running: SluiceProcess[] = [];
let fake: FakeOpenAIServer | null = null;
const prefixes: string[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((process) => process.kill('SIGKILL')));
  await fake?.close();
  fake = null;
  for (const prefix of prefixes.splice(0)) await deletePrefix(inject('redisUrl'), prefix);
});

const configFor = (fakeUrl: string, extra: Record<string, unknown> = {}) => {
  const prefix = testPrefix();
  prefixes.push(prefix);
  return writeConfigFile({
    server: { host: '127.0.0.1', port: 0, shutdown_grace_s: 20 },
    redis: { url: inject('redisUrl'), prefix },
    auth: { keys: [{ key: '${TENANT_KEY}', tenant: 'acme' }] },
    providers: { mock: { type: 'mock', latency_ms: 5 }, fake: { type: 'openai-compatible', base_url: fakeUrl, api_key: '${FAKE_KEY}', concurrency: 2 } },
    routes: { default: ['mock/echo'], slow: ['fake/m'] },
    ...extra,
  });
};

const isListening = (line: Record<string, unknown>) => line.msg === 'api listening';

describe('API and worker as separate processes', () => {
  it('submit → poll → succeeded across two processes, keys never logged', async () => {
    fake = await startFakeOpenAI();
    const file = configFor(fake.url);
    const env = { GATEWAY_CONFIG: file, TENANT_KEY: KEYS.acme, FAKE_KEY: 'sk-fake-provider-secret' };
    const api = spawnSluice(ENTRY.api, env);
    const worker = spawnSluice(ENTRY.worker, env);
    running.push(api, worker);
    const listening = await api.waitForLog(isListening);
    await worker.waitForLog((line) => line.msg === 'worker pools started');
    const gateway = client(String(listening.url));
    for (const model of ['default', 'slow']) {
      const submitted = await gateway.post('/v1/jobs', { model, messages: userMessage(`two processes ${model}`) });
      expect(submitted.status).toBe(202);
      const job = await gateway.waitForJob(submitted.body.id);
      expect(job.status).toBe('succeeded');
      expect(job.provider).toBe(model === 'default' ? 'mock' : 'fake');
      expect(job.attempts).toHaveLength(1);
    }
    await worker.waitForLog((line) => line.msg === 'job finished' && line.provider === 'fake');
    expect(api.stdout() + worker.stdout()).not.toContain('sk-fake-provider-secret');
    expect(api.stdout() + worker.stdout()).not.toContain(KEYS.acme);
    expect(await api.kill('SIGTERM')).toBe(0);
  });

  it('a worker stopped with SIGTERM mid-job finishes the job, then exits 0', async () => {
    fake = await startFakeOpenAI(() => ({ delayMs: 1_500 }));
    const file = configFor(fake.url);
    const env = { GATEWAY_CONFIG: file, TENANT_KEY: KEYS.acme, FAKE_KEY: 'x' };
    const api = spawnSluice(ENTRY.api, env);
    const worker = spawnSluice(ENTRY.worker, env);
    running.push(api, worker);
    const gateway = client(String((await api.waitForLog(isListening)).url));
    await worker.waitForLog((line) => line.msg === 'worker pools started');
    const submitted = await gateway.post('/v1/jobs', { model: 'slow', messages: userMessage('finish me') });
    await fake.waitForRequests(1);
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const job = await gateway.waitForJob(submitted.body.id, undefined, 2_000);
    expect(job.status).toBe('succeeded');
    expect(fake.requests[0]?.aborted).toBe(false);
    expect(worker.logs.map((line) => line.msg)).toEqual(expect.arrayContaining(['shutting down', 'job finished', 'worker stopped']));
  });

  it('a config file with three mistakes stops start-up naming all three', async () => {
    const file = writeConfigFile(`
server: { port: not-a-port }
auth: { keys: [{ key: abc, tenant: acme, role: root }] }
providers:
  local: { type: openai-compatible, base_url: "not a url" }
`);
    for (const entry of [ENTRY.api, ENTRY.worker]) {
      const process = spawnSluice(entry, { GATEWAY_CONFIG: file });
      running.push(process);
      expect(await process.exited).toBe(2);
      const stderr = process.stderr();
      expect(stderr).toContain('server.port: expected number');
      expect(stderr).toContain('auth.keys.0.role:');
      expect(stderr).toContain('providers.local.base_url:');
    }
  });
});

describe('npm start (API and worker in one process)', () => {
  it('uses the Redis at REDIS_URL and starts none of its own', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sluice-start-'));
    const prefix = testPrefix();
    prefixes.push(prefix);
    const file = writeConfigFile({ server: { host: '127.0.0.1', port: 0 }, redis: { prefix }, auth: { disabled: true }, providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] } });
    const start = spawnSluice(ENTRY.start, { REDIS_URL: inject('redisUrl'), GATEWAY_CONFIG: file }, cwd);
    running.push(start);
    const gateway = client(String((await start.waitForLog(isListening)).url), null);
    const submitted = await gateway.post('/v1/jobs', { model: 'default', messages: userMessage('quickstart') });
    expect((await gateway.waitForJob(submitted.body.id)).result?.choices[0]?.message.content).toBe('echo: quickstart');
    expect(existsSync(join(cwd, '.data'))).toBe(false); // a Redis answered: none started
    expect(await start.kill('SIGTERM')).toBe(0);
  });

  it('traces with only the standard OTEL_* variables set: one tracer for both halves, its spans sent on SIGTERM', async () => {
    const receiver = await startOtlpReceiver();
    try {
      const prefix = testPrefix();
      prefixes.push(prefix);
      const file = writeConfigFile({ server: { host: '127.0.0.1', port: 0 }, redis: { prefix }, auth: { disabled: true }, providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] } });
      const env = { REDIS_URL: inject('redisUrl'), GATEWAY_CONFIG: file, OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_SERVICE_NAME: 'sluice-local', OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20collector-sekret' };
      const start = spawnSluice(ENTRY.start, env, mkdtempSync(join(tmpdir(), 'sluice-start-')));
      running.push(start);
      const gateway = client(String((await start.waitForLog(isListening)).url), null);
      const traceId = '0af7651916cd43dd8448eb211c80319c';
      const submitted = await gateway.post('/v1/jobs', { model: 'default', messages: userMessage('traced quickstart') }, { traceparent: `00-${traceId}-b7ad6b7169203331-01` });
      expect((await gateway.waitForJob(submitted.body.id)).status).toBe('succeeded');
      expect(await start.kill('SIGTERM')).toBe(0);
      const spans = receiver.spans.filter((span) => span.traceId === traceId);
      expect(spans.map((span) => span.name).sort()).toEqual(['POST /v1/jobs', 'chat echo', 'queue wait']);
      expect(new Set(spans.map((span) => span.service))).toEqual(new Set(['sluice-local']));
      expect(receiver.headers[0]?.authorization).toBe('Bearer collector-sekret');
      expect(start.stdout()).not.toContain('collector-sekret');
      expect(start.logs.find((line) => line.msg === 'tracing on: spans are exported over OTLP/HTTP')).toMatchObject({ traces_url: `${receiver.url}/v1/traces` });
    } finally {
      await receiver.close();
    }
  });

  it('starts a local redis-server under .data/redis when nothing answers, and stops it on exit', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'sluice-start-'));
    const port = await freePort();
    const file = writeConfigFile({ server: { host: '127.0.0.1', port: 0 }, auth: { disabled: true }, providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] } });
    const start = spawnSluice(ENTRY.start, { REDIS_URL: `redis://127.0.0.1:${port}`, GATEWAY_CONFIG: file }, cwd);
    running.push(start);
    const said = await start.waitForLog((line) => String(line.msg).includes('started a local redis-server'));
    expect(said.dir).toBe(join(cwd, '.data/redis'));
    const gateway = client(String((await start.waitForLog(isListening)).url), null);
    const submitted = await gateway.post('/v1/jobs', { model: 'default', messages: userMessage('embedded') });
    expect((await gateway.waitForJob(submitted.body.id)).status).toBe('succeeded');
    expect(await start.kill('SIGTERM')).toBe(0);
    const { pingRedis } = await import('@sluice/shared');
    expect(await pingRedis(`redis://127.0.0.1:${port}`, 300)).toBe(false);
  });

  it('exits with a message naming both fixes when no Redis can be had', async () => {
    const port = await freePort();
    const start = spawnSluice(ENTRY.start, { REDIS_URL: `redis://127.0.0.1:${port}`, PATH: '/nonexistent' }, mkdtempSync(join(tmpdir(), 'sluice-start-')));
    running.push(start);
    expect(await start.exited).toBe(1);
    expect(start.stderr()).toContain('docker compose up -d redis');
    expect(start.stderr()).toContain('install redis-server');
  });
});
