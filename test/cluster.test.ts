import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis, type Cluster } from 'ioredis';
import { createRedis, duplicateConnection, subscribe, waitUntilReady } from '@sluice/shared';
import { Webhook } from 'standardwebhooks';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { redisServerOnPath } from '../scripts/embedded-redis.ts';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';
import { startRedisCluster, type TestCluster } from './harness/redis-cluster.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;
const haveRedisServer = redisServerOnPath();
if (!haveRedisServer) console.warn('[cluster test] skipped: redis-server is not installed, so no Redis Cluster can be started here');

describe.skipIf(!haveRedisServer)('on a three-node Redis Cluster', () => {
  let cluster: TestCluster;
  let a: FakeOpenAIServer;
  let b: FakeOpenAIServer;
  let receiver: WebhookReceiver;
  let gateway: Gateway;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    [a, b, receiver] = await Promise.all([startFakeOpenAI(), startFakeOpenAI(), startWebhookReceiver()]);
    const provider = (url: string) => ({ type: 'openai-compatible' as const, base_url: url, concurrency: 8, retry: { attempts: 2, backoff_ms: 20, max_backoff_ms: 50 } });
    gateway = await startGateway(
      makeConfig({
        redis: { url: cluster.nodes[0]!, cluster_nodes: cluster.nodes, prefix: 'sluice' },
        providers: { a: provider(a.url), b: provider(b.url) },
        routes: { default: ['a/m', 'b/m'], direct: ['b/m'] },
        breaker: { min_requests: 3, cooldown_s: 60 },
        webhooks: { secret: SECRET, allow_private_networks: true, retry_schedule_s: [0.1] },
        jobs: { sweep_interval_ms: 100 },
      }),
    );
  }, 60_000);
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([a?.close(), b?.close(), receiver?.close()]);
    await cluster?.stop();
  });

  it('submit → complete → signed webhook, and a failover when a provider breaks', async () => {
    const api = client(gateway.url);
    const healthy = await api.post('/v1/jobs', { model: 'direct', messages: userMessage('on the cluster'), webhook: { url: receiver.url } });
    expect(healthy.status).toBe(202);
    expect(await api.waitForJob(healthy.body.id)).toMatchObject({ status: 'succeeded', provider: 'b' });
    const [delivery] = await receiver.waitFor(1);
    expect(new Webhook(SECRET).verify(delivery!.body, delivery!.headers as Record<string, string>)).toMatchObject({ type: 'job.succeeded', data: { id: healthy.body.id } });

    a.setReply(() => ({ status: 500, body: { error: { message: 'down' } } }));
    const ids = await Promise.all(Array.from({ length: 20 }, async (_, index) => (await api.post('/v1/jobs', { model: 'default', messages: userMessage(`failover ${index}`), webhook: { url: receiver.url } })).body.id as string));
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 30_000)));
    expect(jobs.map((job) => job.status)).toEqual(Array(20).fill('succeeded'));
    expect(new Set(jobs.map((job) => job.provider))).toEqual(new Set(['b']));
    expect(jobs.some((job) => job.routing.failovers.some((failover) => failover.from === 'a' && failover.to === 'b'))).toBe(true);
    const providers = (await api.get('/v1/providers')).body.data;
    expect(providers.find((provider: { id: string }) => provider.id === 'a')).toMatchObject({ paused: true, circuit: { state: 'open' } });
    await receiver.waitFor(21);
  }, 60_000);

  it('a streamed job: stream: true on chat completions, and its events read back with ids from the output stream', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'direct', messages: userMessage('stream on the cluster'), stream: true }),
    });
    expect(response.headers.get('content-type')).toContain('text/event-stream');
    const body = await response.text();
    expect(body.trimEnd().endsWith('data: [DONE]')).toBe(true);
    const id = response.headers.get('x-sluice-job-id') ?? '';
    const events = await (await fetch(`${gateway.url}/v1/jobs/${id}/events`, { headers: { authorization: `Bearer ${KEYS.acme}` } })).text();
    const statuses = [...events.matchAll(/event: status\ndata: (.*)/g)].map((match) => (JSON.parse(match[1]!) as { status: string }).status);
    expect(statuses).toEqual(['queued', 'running', 'succeeded']);
    expect(events).toMatch(/id: \d+-\d+\.0\nevent: delta/);
  }, 30_000);

  it("a tenant's queued and running jobs are kept in step with its jobs' statuses, though their keys live in other slots", async () => {
    const api = client(gateway.url, KEYS.globex);
    const counts = async () => (await gateway.api!.deps.tenantJobs.counts(['globex'])).get('globex');
    b.script({ delayMs: 600 });
    const slow = await api.post('/v1/jobs', { model: 'direct', messages: userMessage('slow on the cluster') });
    await eventually(async () => (await counts())?.running === 1, 5_000, 'the job counted as running');
    expect(await counts()).toEqual({ queued: 0, running: 1 });
    expect((await api.waitForJob(slow.body.id)).status).toBe('succeeded');
    // A second command after the status change: it lands a round trip later.
    await eventually(async () => (await counts())?.running === 0, 5_000, 'the job no longer counted');
    expect(await counts()).toEqual({ queued: 0, running: 0 });
  });

  it("a subscription asked while the Cluster's subscriber connection shakes hands is heard, with no failed ready check", async () => {
    const publisher = createRedis({ url: cluster.nodes[0]!, cluster_nodes: cluster.nodes }, { role: 'command' });
    const subscriber = duplicateConnection(publisher, { enableOfflineQueue: true, maxRetriesPerRequest: null });
    const heard: string[] = [];
    subscriber.on('message', (channel: string) => heard.push(channel));
    try {
      await Promise.all([waitUntilReady(publisher, 10_000), waitUntilReady(subscriber, 10_000)]);
      // The Cluster subscribes on one node's connection, which connects at the first subscription.
      const node = (subscriber as unknown as { subscriber: { getInstance(): Redis } }).subscriber.getInstance();
      const during = new Promise((resolve) => node.once('connect', () => resolve(subscribe(subscriber, 'during-handshake'))));
      await subscribe(subscriber, 'first');
      await during;
      await publisher.publish('first', 'x');
      await publisher.publish('during-handshake', 'x');
      await eventually(() => heard.length === 2, 5_000, 'both messages');
      expect(heard.sort()).toEqual(['during-handshake', 'first']);
    } finally {
      subscriber.disconnect();
      publisher.disconnect();
    }
  });

  it('a command-role client (the API\'s) comes up without a failed ready check, every master connected, so a burst at once all lands', async () => {
    for (let round = 0; round < 6; round += 1) {
      const redis = createRedis({ url: cluster.nodes[0]!, cluster_nodes: cluster.nodes }, { role: 'command' });
      const statuses: string[] = [];
      const seen = (): void => void statuses.push(redis.status);
      for (const event of ['connect', 'close', 'reconnecting', 'end']) redis.on(event, seen);
      try {
        await waitUntilReady(redis, 10_000);
        // ioredis reconnects (status close, then reconnecting) when its Cluster ready check fails.
        expect(statuses).not.toContain('reconnecting');
        const masters = (redis as unknown as Cluster).nodes('master');
        expect(masters.map((node) => node.status)).toEqual(['ready', 'ready', 'ready']);
        const keys = Array.from({ length: 60 }, (_, index) => `burst-${round}-${index}`);
        const replies = await Promise.allSettled(keys.map((key) => redis.set(key, 'x', 'PX', 60_000)));
        expect(replies.filter((reply) => reply.status === 'rejected').map((reply) => String((reply as PromiseRejectedResult).reason))).toEqual([]);
      } finally {
        redis.disconnect();
      }
    }
  });

  it('keys spread over the shards: queues by their hash tags, job records by id', async () => {
    const sizes = await Promise.all(cluster.nodes.map(async (url) => {
      const node = new Redis(url);
      try {
        return Number(await node.dbsize());
      } finally {
        node.disconnect();
      }
    }));
    for (const size of sizes) expect(size).toBeGreaterThan(0);
  });

  it('/metrics shows the memory of every master, one series per node', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
    const used = [...text.matchAll(/^sluice_redis_used_memory_bytes\{node="([^"]+)"\} (\d+)/gm)];
    expect(used.map((match) => match[1]).sort()).toEqual(cluster.nodes.map((url) => new URL(url).host).sort());
    for (const match of used) expect(Number(match[2])).toBeGreaterThan(0);
    expect([...text.matchAll(/^sluice_redis_maxmemory_bytes\{node=/gm)]).toHaveLength(cluster.nodes.length);
  });
});
