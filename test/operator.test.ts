import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright-core';
import { Redis } from 'ioredis';
import { client, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { ROOT } from './harness/processes.ts';
import { freePort } from './harness/redis-server.ts';

const ARTIFACTS = join(ROOT, 'test-artifacts');

/** Parses Prometheus text exposition: every sample line must be `name{labels} value`. */
function parsePrometheus(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})?) (-?[0-9.e+-]+|NaN|\+Inf|-Inf)$/.exec(line);
    if (match === null) throw new Error(`not Prometheus text: ${line}`);
    samples.set(match[1]!, Number(match[2]));
  }
  return samples;
}

const sum = (samples: Map<string, number>, prefix: string): number =>
  [...samples].filter(([name]) => name.startsWith(prefix)).reduce((total, [, value]) => total + value, 0);

describe("the operator's view: usage, metrics, Bull Board", () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        providers: { mock: { type: 'mock', latency_ms: 1 }, other: { type: 'mock', latency_ms: 1 } },
        routes: { default: ['mock/echo'], second: ['other/echo-2'] },
        pricing: { 'mock/echo': { input: 1, output: 2 } },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('GET /v1/usage: tokens and cost by model, provider and tenant over a time range, scoped to the key', async () => {
    const acme = client(gateway.url, KEYS.acme);
    const globex = client(gateway.url, KEYS.globex);
    const ids = [
      ...(await Promise.all([1, 2, 3].map(async () => (await acme.post('/v1/jobs', { model: 'default', messages: userMessage('usage') })).body.id))),
      (await acme.post('/v1/jobs', { model: 'second', messages: userMessage('usage') })).body.id,
    ];
    const globexJob = (await globex.post('/v1/jobs', { model: 'default', messages: userMessage('theirs') })).body.id;
    const jobs = await Promise.all(ids.map((id) => acme.waitForJob(id)));
    await globex.waitForJob(globexJob);
    const reply = await acme.get('/v1/usage?group_by=provider,model');
    expect(reply.status).toBe(200);
    const mockRow = reply.body.data.find((row: { provider: string }) => row.provider === 'mock');
    const job = jobs[0]!;
    expect(mockRow).toMatchObject({ model: 'echo', requests: 3, prompt_tokens: 3 * job.usage!.prompt_tokens, completion_tokens: 3 * job.usage!.completion_tokens });
    expect(mockRow.cost_usd).toBeCloseTo(3 * (job.cost_usd ?? 0), 12);
    expect(reply.body.data.find((row: { provider: string }) => row.provider === 'other')).toMatchObject({ requests: 1 });
    // A tenant sees only itself; an admin sees every tenant.
    const byTenant = (await acme.get('/v1/usage?group_by=tenant')).body.data;
    expect(byTenant.map((row: { tenant: string }) => row.tenant)).toEqual(['acme']);
    const all = (await client(gateway.url, KEYS.admin).get('/v1/usage?group_by=tenant')).body.data.map((row: { tenant: string }) => row.tenant).sort();
    expect(all).toEqual(['acme', 'globex']);
    // A range before any job is empty; bad parameters are named.
    expect((await acme.get('/v1/usage?from=2020-01-01&to=2020-01-02')).body.data).toEqual([]);
    expect((await acme.get('/v1/usage?group_by=colour')).body.error.param).toBe('group_by.0');
    expect((await acme.get('/v1/usage?from=yesterday')).body.error.param).toBe('from');
  });

  it('/metrics parses as Prometheus text and moves when jobs run; it needs an admin key', async () => {
    expect((await fetch(`${gateway.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.acme}` } })).status).toBe(403);
    const scrape = async () => {
      const response = await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
      expect(response.headers.get('content-type')).toContain('text/plain');
      return parsePrometheus(await response.text());
    };
    const before = await scrape();
    const api = client(gateway.url);
    const ids = await Promise.all([1, 2, 3, 4, 5].map(async () => (await api.post('/v1/jobs', { model: 'default', messages: userMessage('metrics') })).body.id));
    await Promise.all(ids.map((id) => api.waitForJob(id)));
    const after = await scrape();
    const moved = (prefix: string) => sum(after, prefix) - sum(before, prefix);
    expect(moved('sluice_jobs_total{status="succeeded",provider="mock"')).toBe(5);
    expect(moved('sluice_provider_requests_total{provider="mock",outcome="succeeded"}')).toBe(5);
    expect(moved('sluice_provider_latency_seconds_count{provider="mock"}')).toBe(5);
    expect(moved('sluice_tokens_total{provider="mock",model="echo"')).toBeGreaterThan(0);
    expect(moved('sluice_cost_usd_total{provider="mock",model="echo",tenant="acme"}')).toBeGreaterThan(0);
    // Redis memory, read from INFO at scrape time: used bytes, and the server's own maxmemory (0: none).
    const node = new URL(gateway.config.redis.url).host;
    expect(after.get(`sluice_redis_used_memory_bytes{node="${node}"}`)).toBeGreaterThan(1_000_000);
    const redis = new Redis(gateway.config.redis.url);
    try {
      const [, maxmemory] = (await redis.config('GET', 'maxmemory')) as [string, string];
      expect(after.get(`sluice_redis_maxmemory_bytes{node="${node}"}`)).toBe(Number(maxmemory));
    } finally {
      redis.disconnect();
    }
    for (const name of ['sluice_provider_circuit_state{provider="mock"}', 'sluice_dead_letter_jobs', 'sluice_queue_oldest_waiting_seconds{queue="provider-mock"}', 'sluice_queue_jobs{queue="provider-mock",state="waiting"}', 'sluice_queue_jobs{queue="webhooks",state="failed"}']) {
      expect(after.has(name), name).toBe(true);
    }
  });

  it("Bull Board's page loads in headless Chromium with the admin key and is refused without it", async () => {
    const url = `${gateway.url}/admin/queues`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toContain('Basic');
    const tenant = await fetch(url, { headers: { authorization: `Basic ${Buffer.from(`acme:${KEYS.acme}`).toString('base64')}` } });
    expect(tenant.status).toBe(403);

    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      // Without the key Chromium gets the 401 challenge and, having nothing to answer, gives up.
      const refused = await (await browser.newContext({ httpCredentials: { username: 'ops', password: 'wrong-key' } })).newPage();
      const outcome = await refused.goto(url).then((reply) => String(reply?.status()), (error: Error) => error.message);
      expect(outcome).toMatch(/401|ERR_INVALID_AUTH_CREDENTIALS/);
      const context = await browser.newContext({ httpCredentials: { username: 'ops', password: KEYS.admin }, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      const response = await page.goto(url);
      expect(response?.status()).toBe(200);
      for (const queue of ['provider-mock', 'provider-other', 'dead-letter', 'webhooks', 'batches']) {
        await page.getByText(queue, { exact: true }).first().waitFor({ timeout: 15_000 });
      }
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'bull-board.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  }, 60_000);

  it('GET /v1/providers answers tenant keys by default, and only admin keys with providers_visible_to_tenants: false', async () => {
    const names = (reply: { body: { data: { id: string }[] } }) => reply.body.data.map((provider) => provider.id);
    const shown = await client(gateway.url, KEYS.acme).get('/v1/providers');
    expect(shown.status).toBe(200);
    expect(names(shown)).toEqual(['mock', 'other']);
    const hidden = await startGateway(makeConfig({ providers: { mock: { type: 'mock' } }, providers_visible_to_tenants: false }), { worker: false });
    try {
      const refused = await client(hidden.url, KEYS.acme).get('/v1/providers');
      expect(refused.status).toBe(403);
      expect(refused.body.error).toMatchObject({ type: 'permission_error', code: 'admin_required' });
      expect(JSON.stringify(refused.body)).not.toContain('mock');
      const admin = await client(hidden.url, KEYS.admin).get('/v1/providers');
      expect(admin.status).toBe(200);
      expect(names(admin)).toEqual(['mock']);
    } finally {
      await hidden.close();
    }
  });

  it('a worker run apart serves its own counters on metrics.worker_port', async () => {
    const port = await freePort();
    const worker = await startGateway(
      makeConfig({ providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] }, metrics: { worker_port: port } }),
      { api: false },
    );
    try {
      // Like the API's /metrics (metrics.public is false): an admin key, as Bearer or Basic.
      expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(401);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${KEYS.acme}` } })).status).toBe(403);
      expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: 'Bearer nope' } })).status).toBe(401);
      const basic = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Basic ${Buffer.from(`prom:${KEYS.admin}`).toString('base64')}` } });
      expect(basic.status).toBe(200);
      const response = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } });
      expect(response.status).toBe(200);
      const samples = parsePrometheus(await response.text());
      expect([...samples.keys()].some((name) => name.startsWith('sluice_provider_requests_total') || name.startsWith('sluice_jobs_total'))).toBe(true);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await worker.close();
    }
  });
});
