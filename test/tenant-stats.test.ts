import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

/** Tenants t00..t11, each with its own key: more than the gauge shows. */
const CROWD = Array.from({ length: 12 }, (_, index) => ({ key: `sk-test-crowd-${String(index).padStart(4, '0')}`, tenant: `t${String(index).padStart(2, '0')}` }));

describe('per-tenant stats: jobs queued and running, queue waits, and a bounded gauge', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        auth: {
          keys: [
            { key: KEYS.acme, tenant: 'acme', weight: 2, max_priority: 'normal', max_queued_jobs: 50, rpm: 600, max_file_bytes: '2mb' },
            { key: KEYS.globex, tenant: 'globex' },
            { key: KEYS.admin, tenant: 'ops', role: 'admin' },
            ...CROWD,
          ],
        },
        providers: {
          mock: { type: 'mock', latency_ms: 0 },
          slow: { type: 'mock', latency_ms: 400, concurrency: 1 },
          glacial: { type: 'mock', latency_ms: 30_000, concurrency: 1 },
          frozen: { type: 'mock', latency_ms: 30_000, concurrency: 1 },
        },
        routes: { default: ['mock/echo'], slow: ['slow/echo'], glacial: ['glacial/echo'], frozen: ['frozen/echo'] },
        metrics: { top_tenants: 3 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
  });

  /** Submits `count` jobs to `model` for `key`, and returns a function that cancels them. */
  const hold = async (key: string, model: string, count: number): Promise<() => Promise<void>> => {
    const api = client(gateway.url, key);
    const ids: string[] = [];
    for (let index = 0; index < count; index += 1) ids.push((await api.post('/v1/jobs', { model, messages: userMessage(`hold ${index}`) })).body.id);
    return async () => {
      for (const id of ids) await api.post(`/v1/jobs/${id}/cancel`);
    };
  };

  it("GET /v1/usage shows the caller's jobs queued and running now", async () => {
    const acme = client(gateway.url);
    const release = await hold(KEYS.acme, 'glacial', 3);
    // One runs (the provider takes one at a time), two wait.
    await eventually(async () => ((await acme.get('/v1/usage')).body.jobs.running === 1 ? true : undefined), 10_000, 'one running');
    expect((await acme.get('/v1/usage')).body).toMatchObject({ object: 'list', jobs: { queued: 2, running: 1 } });
    expect((await client(gateway.url, KEYS.globex).get('/v1/usage')).body.jobs).toEqual({ queued: 0, running: 0 });
    await release();
    expect((await acme.get('/v1/usage')).body.jobs).toEqual({ queued: 0, running: 0 });
  });

  it('GET /v1/tenants/{id}: weight, caps, jobs and queue waits, for an admin only', async () => {
    const admin = client(gateway.url, KEYS.admin);
    const release = await hold(KEYS.acme, 'glacial', 2);
    try {
      await eventually(async () => ((await admin.get('/v1/tenants/acme')).body.jobs?.running === 1 ? true : undefined), 10_000, 'one running');
      expect((await admin.get('/v1/tenants/acme')).body).toEqual({
        id: 'acme',
        object: 'tenant',
        weight: 2,
        caps: { max_priority: 'normal', max_queued_jobs: 50, rpm: 600, max_file_bytes: 2 * 1024 * 1024 },
        jobs: { queued: 1, running: 1 },
        // Its jobs' waits, once the workers have written them (within a second).
        queue_wait: { window_s: 300, count: expect.any(Number), mean_ms: expect.toBeOneOf([null, expect.any(Number)]), max_ms: expect.toBeOneOf([null, expect.any(Number)]) },
      });
    } finally {
      await release();
    }
    // A key with no caps shows the defaults.
    expect((await admin.get('/v1/tenants/globex')).body).toMatchObject({
      weight: 1, caps: { max_priority: 'high', max_queued_jobs: null, rpm: null, max_file_bytes: 1024 ** 3 }, jobs: { queued: 0, running: 0 },
      queue_wait: { window_s: 300, count: 0, mean_ms: null, max_ms: null },
    });

    const forbidden = await client(gateway.url, KEYS.acme).get('/v1/tenants/acme');
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.error.code).toBe('admin_required');
    const unknown = await admin.get('/v1/tenants/nobody');
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toMatchObject({ type: 'not_found_error', code: 'tenant_not_found', param: 'id' });
    const badWindow = await admin.get('/v1/tenants/acme?minutes=61');
    expect(badWindow.status).toBe(400);
    expect(badWindow.body.error.param).toBe('minutes');
  });

  it("queue waits: from submit to a worker's first claim, per tenant, added up across the last minutes", async () => {
    const admin = client(gateway.url, KEYS.admin);
    const globex = client(gateway.url, KEYS.globex);
    // One at a time, 400 ms each: they wait about 0, 400 and 800 ms.
    const submitted = await Promise.all([0, 1, 2].map((index) => globex.post('/v1/jobs', { model: 'slow', messages: userMessage(`wait ${index}`) })));
    for (const reply of submitted) expect((await globex.waitForJob(reply.body.id)).status).toBe('succeeded');
    const waits = await eventually(async () => {
      const body = (await admin.get('/v1/tenants/globex?minutes=2')).body;
      return body.queue_wait.count === 3 ? body.queue_wait : undefined;
    }, 5_000, 'three waits written');
    expect(waits.window_s).toBe(120);
    expect(waits.max_ms).toBeGreaterThanOrEqual(700);
    expect(waits.max_ms).toBeLessThan(5_000);
    expect(waits.mean_ms).toBeGreaterThanOrEqual(300);
    expect(waits.mean_ms).toBeLessThan(waits.max_ms);
    // Another tenant's waits are its own.
    expect((await admin.get('/v1/tenants/t11')).body.queue_wait.count).toBe(0);
  });

  it('/metrics: sluice_tenant_jobs_queued for the tenants with the most jobs queued, never more than metrics.top_tenants series', async () => {
    // The first job takes the provider's one slot, so every job after it stays queued.
    const releases = [await hold(KEYS.globex, 'frozen', 1)];
    await eventually(async () => ((await gateway.api!.deps.tenantJobs.counts(['globex'])).get('globex')?.running === 1 ? true : undefined), 10_000, 'the slot taken');
    try {
      for (const [index, count] of [4, 1, 3, 2].entries()) releases.push(await hold(CROWD[index]!.key, 'frozen', count));
      const text = (await client(gateway.url, KEYS.admin).get('/metrics')).body as string;
      const series = [...text.matchAll(/^sluice_tenant_jobs_queued\{tenant="([^"]+)"\} (\d+)$/gm)].map((match) => [match[1], Number(match[2])]);
      expect(series).toEqual([['t00', 4], ['t02', 3], ['t03', 2]]);
    } finally {
      for (const release of releases) await release();
    }
    const after = (await client(gateway.url, KEYS.admin).get('/metrics')).body as string;
    expect([...after.matchAll(/^sluice_tenant_jobs_queued\{tenant="([^"]+)"\} (\d+)$/gm)].map((match) => Number(match[2]))).toEqual([0, 0, 0]);
  });
});
