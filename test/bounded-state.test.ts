import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

const LIMITED = 'sk-test-limited-0004';

/** Every page of a list endpoint, by its `after` cursor, until `has_more` is false. */
async function everyPage(api: ReturnType<typeof client>, path: string, limit: number, idOf: (item: any) => string = (item) => item.id, cursorOf: (item: any) => string = idOf): Promise<string[]> {
  const ids: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 100; page += 1) {
    const reply = await api.get(`${path}${path.includes('?') ? '&' : '?'}limit=${limit}${after ? `&after=${after}` : ''}`);
    expect(reply.status, JSON.stringify(reply.body)).toBe(200);
    ids.push(...reply.body.data.map(idOf));
    if (!reply.body.has_more) return ids;
    after = cursorOf(reply.body.data.at(-1));
  }
  throw new Error('more than 100 pages');
}

describe('bounded state: per-tenant listings that cannot be pushed out, and caps on what a tenant keeps', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  let receiver: WebhookReceiver;
  let redis: Redis;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    receiver = await startWebhookReceiver();
    gateway = await startGateway(
      makeConfig({
        auth: {
          keys: [
            { key: KEYS.acme, tenant: 'acme' },
            { key: KEYS.globex, tenant: 'globex' },
            { key: KEYS.admin, tenant: 'ops', role: 'admin' },
            { key: LIMITED, tenant: 'limited', rpm: 2 },
          ],
        },
        providers: { p: { type: 'openai-compatible', base_url: fake.url, concurrency: 4, retry: { attempts: 1, backoff_ms: 10, max_backoff_ms: 10 } } },
        routes: { default: ['p/m'] },
        breaker: { min_requests: 1000 },
        jobs: { max_attempts: 1, max_dead_letters_per_tenant: 5 },
        webhooks: { secret: `whsec_${randomBytes(24).toString('base64')}`, allow_private_networks: true, retry_schedule_s: [], max_failed_per_tenant: 3, failed_retention_s: 600 },
      }),
    );
    redis = new Redis(gateway.config.redis.url);
  });
  afterAll(async () => {
    redis.disconnect();
    await gateway.close();
    await receiver.close();
    await fake.close();
  });

  it('dead letters are kept per tenant (the oldest go past the cap), and one tenant cannot push out another’s', async () => {
    const globex = client(gateway.url, KEYS.globex);
    const acme = client(gateway.url, KEYS.acme);
    fake.setReply(() => ({ status: 503, body: { error: { message: 'down' } } }));
    const theirs = await globex.waitForJob((await globex.post('/v1/jobs', { model: 'default', messages: userMessage('globex doomed') })).body.id);
    expect(theirs.status).toBe('failed');
    const ours: string[] = [];
    for (let index = 0; index < 8; index += 1) {
      const job = await acme.waitForJob((await acme.post('/v1/jobs', { model: 'default', messages: userMessage(`acme doomed ${index}`) })).body.id);
      expect(job.status).toBe('failed');
      ours.push(job.id);
    }
    fake.setReply(() => ({}));
    // acme keeps its newest 5, newest first, over pages of 2; globex's one is still listed for globex and the admin.
    expect(await everyPage(acme, '/v1/dead-letters', 2)).toEqual(ours.slice(3).reverse());
    expect(await everyPage(globex, '/v1/dead-letters', 2)).toEqual([theirs.id]);
    const all = await everyPage(client(gateway.url, KEYS.admin), '/v1/dead-letters', 4);
    expect(all.sort()).toEqual([...ours.slice(3), theirs.id].sort());
    // The dropped ones cannot be replayed as dead letters any more; the kept ones can, and a cursor
    // on a replayed one still pages on.
    const admin = client(gateway.url, KEYS.admin);
    expect((await admin.post(`/v1/dead-letters/${ours[0]}/replay`)).status).toBe(404);
    const firstPage = await acme.get('/v1/dead-letters?limit=2');
    expect(firstPage.body.last_id).toBe(ours[6]);
    expect((await admin.post(`/v1/dead-letters/${ours[6]}/replay`)).status).toBe(202);
    await acme.waitForJob(ours[6]!, (job) => job.status === 'succeeded');
    const next = await acme.get(`/v1/dead-letters?limit=10&after=${ours[6]}`);
    expect(next.body.data.map((job: { id: string }) => job.id)).toEqual([ours[5], ours[4], ours[3]]);
    expect(await everyPage(acme, '/v1/dead-letters', 2)).toEqual([ours[7], ours[5], ours[4], ours[3]]);
    const metrics = await admin.get('/metrics');
    expect(metrics.body).toMatch(/sluice_dead_letter_jobs 5\b/); // six kept, one replayed
  });

  it('failed webhook deliveries are kept per tenant with a TTL and a cap, listed and paged exactly', async () => {
    const acme = client(gateway.url, KEYS.acme);
    const globex = client(gateway.url, KEYS.globex);
    receiver.answer(...Array(6).fill(410));
    const submit = async (api: typeof acme, text: string) => {
      const job = await api.waitForJob((await api.post('/v1/jobs', { model: 'default', messages: userMessage(text), webhook: { url: receiver.url } })).body.id);
      return eventually(async () => ((await api.get(`/v1/jobs/${job.id}`)).body.webhook.status === 'failed' ? job.id : undefined), 5_000, 'delivery failed');
    };
    const theirs = await submit(globex, 'globex hook');
    const ours: string[] = [];
    for (let index = 0; index < 5; index += 1) ours.push(await submit(acme, `acme hook ${index}`));
    const listedOurs = await everyPage(acme, '/v1/webhooks/failed', 2, (entry) => entry.job_id, (entry) => entry.webhook_id);
    expect(listedOurs).toEqual(ours.slice(2).reverse());
    expect(await everyPage(globex, '/v1/webhooks/failed', 2, (entry) => entry.job_id, (entry) => entry.webhook_id)).toEqual([theirs]);
    const first = (await acme.get('/v1/webhooks/failed?limit=1')).body.data[0];
    expect(first).toMatchObject({ object: 'webhook_delivery', kind: 'job', event: 'job.succeeded', failed_reason: '410 Gone', attempts: 1 });
    expect(first).not.toHaveProperty('payload');
    // Each kept delivery expires with webhooks.failed_retention_s; nothing of it is kept forever.
    const keys = await redis.keys(`${gateway.config.redis.prefix}:{webhooks-failed}:entry:*`);
    expect(keys).toHaveLength(4);
    for (const key of keys) expect(await redis.ttl(key)).toBeGreaterThan(500);
    // The failed BullMQ entries are bounded too (Bull Board's view).
    const failedOptions = await redis.hget(`${gateway.config.redis.prefix}:{webhooks}:${first.webhook_id}`, 'opts');
    expect(JSON.parse(failedOptions ?? '{}')).toMatchObject({ removeOnFail: { age: 600, count: 1000 } });
    // Redelivery still sends the same webhook-id, and the entry leaves the list.
    const redelivered = await acme.post(`/v1/jobs/${first.job_id}/webhook/redeliver`);
    expect(redelivered.status).toBe(202);
    await eventually(async () => (await acme.get(`/v1/jobs/${first.job_id}`)).body.webhook.status === 'delivered', 5_000, 'redelivered');
    expect(receiver.received.filter((delivery) => delivery.headers['webhook-id'] === first.webhook_id)).toHaveLength(2);
    expect(await everyPage(acme, '/v1/webhooks/failed', 10, (entry) => entry.job_id, (entry) => entry.webhook_id)).not.toContain(first.job_id);
  });

  it('GET /v1/jobs pages through jobs created in the same millisecond without skipping or repeating any', async () => {
    const api = client(gateway.url, KEYS.globex);
    const batch = await api.post('/v1/batches', { requests: Array.from({ length: 30 }, (_, index) => ({ custom_id: `r${index}`, body: { model: 'default', messages: userMessage(`child ${index}`) } })) });
    expect(batch.status).toBe(200);
    await eventually(async () => ((await api.get(`/v1/batches/${batch.body.id}`)).body.status === 'completed' ? true : undefined), 15_000, 'batch completed');
    const ids = await everyPage(api, '/v1/jobs', 7);
    const children = (await Promise.all(ids.map((id) => api.get(`/v1/jobs/${id}`)))).filter((reply) => reply.body.batch_id === batch.body.id);
    expect(children).toHaveLength(30);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('batches count toward the tenant’s rpm', async () => {
    const api = client(gateway.url, LIMITED);
    const body = { requests: [{ custom_id: 'a', body: { model: 'default', messages: userMessage('x') } }] };
    const statuses = [];
    for (let index = 0; index < 3; index += 1) statuses.push((await api.post('/v1/batches', body)).status);
    expect(statuses).toEqual([200, 200, 429]);
  });
});
