import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { bullQueueName, createFailedDeliveryStore, failedDeliveryKey, jobRecordKey, WEBHOOK_JOB_NAME, WEBHOOK_QUEUE, webhookJobOptions, type WebhookJobData } from '@sluice/engine';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

const GLOBAL_SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const GLOBEX_SECRET = `whsec_${randomBytes(24).toString('base64')}`;

/** What a receiver does: verify with the standardwebhooks package, throwing when it does not verify. */
const verify = (secret: string, delivery: { body: string; headers: Record<string, string | string[] | undefined> }) =>
  new Webhook(secret).verify(delivery.body, delivery.headers as Record<string, string>) as { type: string; data: { id: string; status: string } };

describe('signed webhooks', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        auth: {
          keys: [
            { key: KEYS.acme, tenant: 'acme' },
            { key: KEYS.globex, tenant: 'globex', webhook_secret: GLOBEX_SECRET },
            { key: KEYS.admin, tenant: 'ops', role: 'admin' },
          ],
        },
        providers: { p: { type: 'openai-compatible', base_url: fake.url } },
        routes: { default: ['p/m'] },
        // The receivers of this test listen on 127.0.0.1.
        webhooks: { secret: GLOBAL_SECRET, allow_private_networks: true, retry_schedule_s: [0.1, 0.1, 0.1], timeout_ms: 2000 },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
  });

  it('delivers job.succeeded signed per Standard Webhooks; a tampered body or a stale timestamp fails verification', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('notify me'), webhook: { url: receiver.url } });
    expect(submitted.status).toBe(202);
    const [delivery] = await receiver.waitFor(1);
    expect(delivery!.headers['webhook-id']).toMatch(/^msg_/);
    expect(delivery!.headers['webhook-signature']).toMatch(/^v1,/);
    const event = verify(GLOBAL_SECRET, delivery!);
    expect(event).toMatchObject({ type: 'job.succeeded', data: { id: submitted.body.id, status: 'succeeded' } });
    expect(() => verify(GLOBAL_SECRET, { ...delivery!, body: delivery!.body.replace('notify me', 'tampered') })).toThrow();
    expect(() => verify(GLOBEX_SECRET, delivery!)).toThrow();
    const staleAt = new Date(Date.now() - 10 * 60_000);
    const staleHeaders = {
      'webhook-id': String(delivery!.headers['webhook-id']),
      'webhook-timestamp': String(Math.floor(staleAt.getTime() / 1000)),
      'webhook-signature': new Webhook(GLOBAL_SECRET).sign(String(delivery!.headers['webhook-id']), staleAt, delivery!.body),
    };
    expect(() => verify(GLOBAL_SECRET, { body: delivery!.body, headers: staleHeaders })).toThrow(/timestamp/i);
    const job = await eventually(async () => {
      const current = (await api.get(`/v1/jobs/${submitted.body.id}`)).body;
      return current.webhook.status === 'delivered' ? current : undefined;
    }, 5_000, 'webhook delivered');
    expect(job.webhook.deliveries).toEqual([expect.objectContaining({ attempt: 1, status_code: 200, outcome: 'delivered', event: 'job.succeeded' })]);
  });

  it('a receiver answering 500 twice then 200 gets the same webhook-id three times, each attempt on the job', async () => {
    receiver.answer(500, 500);
    const api = client(gateway.url, KEYS.globex);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('flaky receiver'), webhook: { url: receiver.url } });
    const deliveries = await receiver.waitFor(3);
    expect(new Set(deliveries.map((delivery) => delivery.headers['webhook-id'])).size).toBe(1);
    for (const delivery of deliveries) expect(verify(GLOBEX_SECRET, delivery).data.id).toBe(submitted.body.id); // the tenant's own secret
    const job = await eventually(async () => {
      const current = (await api.get(`/v1/jobs/${submitted.body.id}`)).body;
      return current.webhook.status === 'delivered' ? current : undefined;
    }, 5_000, 'webhook delivered');
    expect(job.webhook.deliveries.map((delivery: { status_code: number; outcome: string }) => [delivery.status_code, delivery.outcome])).toEqual([
      [500, 'failed'], [500, 'failed'], [200, 'delivered'],
    ]);
  });

  it('410 stops at once; redirects are not followed; exhausted deliveries are listed and redelivered with the same id', async () => {
    const api = client(gateway.url);
    receiver.answer(410);
    const gone = await api.post('/v1/jobs', { model: 'default', messages: userMessage('gone'), webhook: { url: receiver.url } });
    const goneJob = await eventually(async () => {
      const current = (await api.get(`/v1/jobs/${gone.body.id}`)).body;
      return current.webhook.status === 'failed' ? current : undefined;
    }, 5_000, 'webhook failed on 410');
    expect(goneJob.webhook.deliveries.map((delivery: { outcome: string }) => delivery.outcome)).toEqual(['gone']);

    receiver.answer(302, 302, 302, 302);
    const redirected = await api.post('/v1/jobs', { model: 'default', messages: userMessage('redirected'), webhook: { url: receiver.url } });
    const redirectedJob = await eventually(async () => {
      const current = (await api.get(`/v1/jobs/${redirected.body.id}`)).body;
      return current.webhook.status === 'failed' ? current : undefined;
    }, 5_000, 'webhook exhausted on redirects');
    expect(redirectedJob.webhook.deliveries).toHaveLength(4);
    expect(redirectedJob.webhook.deliveries[0].error).toContain('redirect (302) not followed');
    expect(receiver.received.filter((delivery) => delivery.body.includes(redirected.body.id))).toHaveLength(4); // never at the Location

    const listed = (await api.get('/v1/webhooks/failed')).body.data.map((entry: { job_id: string }) => entry.job_id);
    expect(listed).toEqual(expect.arrayContaining([gone.body.id, redirected.body.id]));
    expect((await client(gateway.url, KEYS.globex).get('/v1/webhooks/failed')).body.data.map((entry: { job_id: string }) => entry.job_id)).not.toContain(gone.body.id);

    const firstId = receiver.received.find((delivery) => delivery.body.includes(gone.body.id))!.headers['webhook-id'];
    const redelivered = await api.post(`/v1/jobs/${gone.body.id}/webhook/redeliver`);
    expect(redelivered.status).toBe(202);
    await eventually(async () => (await api.get(`/v1/jobs/${gone.body.id}`)).body.webhook.status === 'delivered', 5_000, 'redelivered');
    const again = receiver.received.filter((delivery) => delivery.body.includes(gone.body.id));
    expect(again.map((delivery) => delivery.headers['webhook-id'])).toEqual([firstId, firstId]);
    expect((await client(gateway.url, KEYS.globex).post(`/v1/jobs/${gone.body.id}/webhook/redeliver`)).status).toBe(404);
  });

  it('a webhook that shows failed is listed already: its delivery is kept and indexed before its status says failed', async () => {
    const api = client(gateway.url);
    receiver.answer(410);
    // Redis's own log of commands, in the order it ran them (Lua's included).
    const base = new Redis(gateway.config.redis.url, { lazyConnect: true });
    const probe = new Redis(gateway.config.redis.url);
    const monitor = await base.monitor();
    const commands: string[] = [];
    monitor.on('monitor', (_time: string, args: string[]) => void commands.push(args.join(' ')));
    try {
      const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('listed first'), webhook: { url: receiver.url } });
      const id = submitted.body.id as string;
      await eventually(async () => (await api.get(`/v1/jobs/${id}`)).body.webhook.status === 'failed', 5_000, 'webhook failed on 410');
      // The log arrives on its own connection: once a marker sent now is in it, so is everything before.
      const marker = `marker-${randomBytes(6).toString('hex')}`;
      await probe.echo(marker);
      await eventually(() => commands.some((command) => command.includes(marker)), 5_000, 'the monitor caught up');
      const webhookId = String(receiver.received.find((delivery) => delivery.body.includes(id))!.headers['webhook-id']);
      const prefix = gateway.config.redis.prefix;
      const kept = commands.findIndex((command) => /^set /i.test(command) && command.includes(failedDeliveryKey(prefix, webhookId)));
      // The listing pages through the tenant's index, so the delivery is listed once its member is added.
      const indexed = commands.findIndex((command) => /^zadd /i.test(command) && command.endsWith(` ${webhookId}`));
      const shownFailed = commands.findIndex((command) => command.includes(`${jobRecordKey(prefix, id)} webhook_status failed`));
      expect(kept).toBeGreaterThanOrEqual(0);
      expect(indexed).toBeGreaterThanOrEqual(0);
      expect(shownFailed).toBeGreaterThan(Math.max(kept, indexed));
    } finally {
      monitor.disconnect();
      base.disconnect();
      probe.disconnect();
    }
  });

  it('a listed delivery that is then delivered (its worker died after listing it and the entry ran again) leaves the list', async () => {
    const api = client(gateway.url);
    receiver.answer(410);
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('listed, then delivered'), webhook: { url: receiver.url } });
    const id = submitted.body.id as string;
    await eventually(async () => (await api.get(`/v1/jobs/${id}`)).body.webhook.status === 'failed', 5_000, 'webhook failed on 410');
    const listed = async (): Promise<string[]> => (await api.get('/v1/webhooks/failed?limit=100')).body.data.map((entry: { job_id: string }) => entry.job_id);
    expect(await listed()).toContain(id);
    // The same delivery runs again, as BullMQ runs an entry whose worker stalled, and this time it is delivered.
    const redis = new Redis(gateway.config.redis.url);
    const queue = new Queue(bullQueueName(WEBHOOK_QUEUE), { connection: redis, prefix: gateway.config.redis.prefix });
    try {
      const kept = (await createFailedDeliveryStore(redis, { prefix: gateway.config.redis.prefix, retentionSeconds: 60, maxPerTenant: 100 }).get(
        String(receiver.received.find((delivery) => delivery.body.includes(id))!.headers['webhook-id']),
      ))!;
      const data: WebhookJobData = { kind: kept.kind, job_id: kept.job_id, tenant: kept.tenant, url: kept.url, webhook_id: kept.webhook_id, event: kept.event, payload: kept.payload };
      await queue.add(WEBHOOK_JOB_NAME, data, { ...webhookJobOptions(gateway.config, `${kept.webhook_id}-rerun`) });
      await eventually(async () => (await api.get(`/v1/jobs/${id}`)).body.webhook.status === 'delivered', 5_000, 'delivered on its second run');
      expect(await listed()).not.toContain(id);
    } finally {
      await queue.close();
      redis.disconnect();
    }
  });

  it('canceled and failed jobs send job.canceled and job.failed', async () => {
    const api = client(gateway.url);
    fake.script({ status: 400, body: { error: { message: 'bad request upstream' } } });
    const failing = await api.post('/v1/jobs', { model: 'default', messages: userMessage('will fail'), webhook: { url: receiver.url } });
    // The scripted replies go to calls in arrival order: the second job is sent only once the first has had its answer.
    await api.waitForJob(failing.body.id);
    fake.script({ delayMs: 2000 });
    const posted = fake.requests.filter((request) => request.method === 'POST').length;
    const slow = await api.post('/v1/jobs', { model: 'default', messages: userMessage('will cancel'), webhook: { url: receiver.url } });
    await fake.waitForRequests(posted + 1); // canceled during its call
    await api.post(`/v1/jobs/${slow.body.id}/cancel`);
    const deliveries = await receiver.waitFor(2);
    expect(deliveries.map((delivery) => verify(GLOBAL_SECRET, delivery).type).sort()).toEqual(['job.canceled', 'job.failed']);
  });
});

describe('webhook SSRF guard', () => {
  let gateway: Gateway;
  let receiver: WebhookReceiver;
  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    gateway = await startGateway(
      makeConfig({
        providers: { mock: { type: 'mock', latency_ms: 1 } },
        routes: { default: ['mock/echo'] },
        webhooks: { secret: GLOBAL_SECRET, retry_schedule_s: [0.1] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await receiver.close();
  });

  it('refuses the cloud metadata address and private ranges unless allow_private_networks', async () => {
    const api = client(gateway.url);
    for (const url of ['http://169.254.169.254/latest/meta-data', 'http://10.0.0.1/hook', 'http://[::1]:8080/hook']) {
      const reply = await api.post('/v1/jobs', { model: 'default', messages: userMessage('ssrf'), webhook: { url } });
      expect(reply.status).toBe(400);
      expect(reply.body.error).toMatchObject({ code: 'webhook_url_not_allowed', param: 'webhook.url' });
    }
  });

  it('checks the resolved address at connect time: a name that resolves to loopback is refused, nothing is sent', async () => {
    const api = client(gateway.url);
    const url = receiver.url.replace('127.0.0.1', 'localhost');
    const submitted = await api.post('/v1/jobs', { model: 'default', messages: userMessage('ssrf by name'), webhook: { url } });
    expect(submitted.status).toBe(202);
    const job = await eventually(async () => {
      const current = (await api.get(`/v1/jobs/${submitted.body.id}`)).body;
      return current.webhook.status === 'failed' ? current : undefined;
    }, 5_000, 'webhook refused');
    expect(job.webhook.deliveries).toEqual([expect.objectContaining({ outcome: 'refused', error: expect.stringContaining('resolves to') })]);
    expect(receiver.received).toHaveLength(0);
  });

  it('a webhook needs a signing secret', async () => {
    const bare = await startGateway(makeConfig({ providers: { mock: { type: 'mock' } }, routes: { default: ['mock/echo'] } }), { worker: false });
    try {
      const reply = await client(bare.url).post('/v1/jobs', { model: 'default', messages: userMessage('x'), webhook: { url: 'https://hooks.example.com/x' } });
      expect(reply.status).toBe(400);
      expect(reply.body.error.code).toBe('webhook_secret_missing');
    } finally {
      await bare.close();
    }
  });
});
