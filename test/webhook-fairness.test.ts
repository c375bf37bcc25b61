import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { metricsRegistry } from '@sluice/shared';
import { client, deletePrefix, eventually, KEYS, makeConfig, startGateway, testPrefix, userMessage } from './harness/gateway.ts';
import { ENTRY, spawnSluice, writeConfigFile, type SluiceProcess } from './harness/processes.ts';
import { startSilentReceiver, startWebhookReceiver } from './harness/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const TIMEOUT_MS = 1_000;
const BACKOFF_S = 1;

const running: SluiceProcess[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((child) => child.kill('SIGKILL')));
  for (const close of closers.splice(0).reverse()) await close();
});

/** Deliveries this process put back to wait because their tenant was at its limit. */
async function deferredSoFar(): Promise<number> {
  const text = await metricsRegistry.metrics();
  return Number(/^sluice_webhook_deferred_total\{reason="tenant_limit"\} (\d+)$/m.exec(text)?.[1] ?? 0);
}

/** Submits a job with a webhook and answers its id. */
async function submit(api: ReturnType<typeof client>, content: string, url: string): Promise<string> {
  const reply = await api.post('/v1/jobs', { model: 'default', messages: userMessage(content), webhook: { url } });
  expect(reply.status).toBe(202);
  return reply.body.id as string;
}

describe('webhook delivery is shared fairly between tenants', () => {
  it('a tenant whose receiver never answers holds half the slots; another tenant\'s webhooks still go out at once, and its own are still tried and retried on schedule', async () => {
    const silent = await startSilentReceiver();
    const prompt = await startWebhookReceiver();
    closers.push(() => silent.close(), () => prompt.close());
    // Four delivery slots, one retry a second after a failed attempt; the limit is its default, half of four.
    const gateway = await startGateway(
      makeConfig({
        providers: { mock: { type: 'mock', latency_ms: 1 } },
        routes: { default: ['mock/echo'] },
        webhooks: { secret: SECRET, allow_private_networks: true, concurrency: 4, timeout_ms: TIMEOUT_MS, retry_schedule_s: [BACKOFF_S] },
      }),
    );
    closers.push(() => gateway.close());
    const acme = client(gateway.url, KEYS.acme);
    const globex = client(gateway.url, KEYS.globex);
    const deferredBefore = await deferredSoFar();

    // acme's eight deliveries are queued first, ahead of everything globex sends.
    const acmeIds: string[] = [];
    for (let index = 0; index < 8; index += 1) acmeIds.push(await submit(acme, `acme ${index}`, silent.url));
    await Promise.all(acmeIds.map((id) => acme.waitForJob(id)));
    await eventually(() => silent.open() >= 2, 5_000, 'acme holding slots');

    // Sharing one pool, globex's first webhook would wait behind acme's queue: about two timeouts.
    const delays: number[] = [];
    for (let index = 0; index < 6; index += 1) {
      const submittedAt = Date.now();
      const id = await submit(globex, `globex ${index}`, prompt.url);
      const delivery = await eventually(() => prompt.received.find((received) => received.body.includes(id)), 5_000, `globex webhook ${index}`);
      delays.push(delivery.at - submittedAt);
    }
    expect(Math.max(...delays)).toBeLessThan(TIMEOUT_MS);

    // Each of acme's deliveries is tried twice (its attempt and its one retry), never more, never
    // two of them at once past the limit, and the retry waits its backoff after the timeout.
    await eventually(() => silent.received.length >= 16, 30_000, 'acme attempts and retries');
    const byId = new Map<string, { at: number }[]>();
    for (const request of silent.received) byId.set(request.webhookId, [...(byId.get(request.webhookId) ?? []), request]);
    expect(byId.size).toBe(8);
    for (const attempts of byId.values()) {
      expect(attempts).toHaveLength(2);
      expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(TIMEOUT_MS + BACKOFF_S * 1000 - 250);
    }
    expect(silent.mostOpen()).toBe(2);
    // Deferrals happened and cost no attempt: every job records attempts 1 and 2, then gives up.
    expect(await deferredSoFar()).toBeGreaterThan(deferredBefore);
    for (const id of acmeIds) {
      const job = await eventually(async () => {
        const current = (await acme.get(`/v1/jobs/${id}`)).body;
        return current.webhook.status === 'failed' ? current : undefined;
      }, 10_000, `acme ${id} webhook failed`);
      expect(job.webhook.deliveries.map((delivery: { attempt: number; outcome: string }) => [delivery.attempt, delivery.outcome])).toEqual([[1, 'failed'], [2, 'failed']]);
    }
    expect(silent.received).toHaveLength(16);
  }, 60_000);

  it('the limit holds across two worker processes', async () => {
    const silent = await startSilentReceiver();
    const prompt = await startWebhookReceiver();
    closers.push(() => silent.close(), () => prompt.close());
    const prefix = testPrefix();
    closers.push(() => deletePrefix(inject('redisUrl'), prefix));
    // Two processes of four slots each: eight in all, of which acme may hold three.
    const tree = {
      providers: { mock: { type: 'mock', latency_ms: 1 } },
      routes: { default: ['mock/echo'] },
      webhooks: { secret: SECRET, allow_private_networks: true, concurrency: 4, max_in_flight_per_tenant: 3, timeout_ms: TIMEOUT_MS, retry_schedule_s: [] },
    };
    const file = writeConfigFile({ ...tree, redis: { url: inject('redisUrl'), prefix }, auth: { disabled: true }, log_level: 'info' });
    const workers = [spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file }), spawnSluice(ENTRY.worker, { GATEWAY_CONFIG: file })];
    running.push(...workers);
    const gateway = await startGateway(makeConfig(tree, prefix), { worker: false });
    closers.push(() => gateway.api!.close());
    await Promise.all(workers.map((worker) => worker.waitForLog((line) => line.msg === 'worker pools started')));
    const acme = client(gateway.url, KEYS.acme);
    const globex = client(gateway.url, KEYS.globex);

    const acmeIds = await Promise.all(Array.from({ length: 12 }, (_, index) => submit(acme, `acme ${index}`, silent.url)));
    await eventually(() => silent.open() === 3, 10_000, 'acme holding three slots');
    const submittedAt = Date.now();
    const globexId = await submit(globex, 'globex', prompt.url);
    const delivery = await eventually(() => prompt.received.find((received) => received.body.includes(globexId)), 5_000, 'globex webhook');
    expect(delivery.at - submittedAt).toBeLessThan(TIMEOUT_MS);

    // Every delivery is tried once (the schedule has no retries): none lost, none twice.
    await eventually(() => silent.received.length >= acmeIds.length, 30_000, 'every acme delivery tried');
    await eventually(() => silent.open() === 0, 5_000, 'acme requests timed out');
    expect(new Set(silent.received.map((request) => request.webhookId)).size).toBe(acmeIds.length);
    expect(silent.received).toHaveLength(acmeIds.length);
    expect(silent.mostOpen()).toBe(3);
    // Both processes delivered: the three slots are shared between them, not three each.
    for (const worker of workers) expect(worker.logs.some((line) => line.msg === 'webhook delivery failed')).toBe(true);
  }, 60_000);
});
