import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { jobRecordKey } from '@sluice/engine';
import { Webhook } from 'standardwebhooks';
import { client, KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';
import { startWebhookReceiver } from './harness/webhook-receiver.ts';

const SECRET = `whsec_${randomBytes(24).toString('base64')}`;

const jsonl = (count: number, model = 'default', from = 0) =>
  Array.from({ length: count }, (_, index) =>
    JSON.stringify({ custom_id: `req-${from + index}`, method: 'POST', url: '/v1/chat/completions', body: { model, messages: [{ role: 'user', content: `item ${from + index}` }] } }),
  ).join('\n');

async function upload(gateway: Gateway, content: string, key: string = KEYS.acme, purpose = 'batch') {
  const form = new FormData();
  form.append('purpose', purpose);
  form.append('file', new Blob([content], { type: 'application/jsonl' }), 'batch.jsonl');
  const response = await fetch(`${gateway.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: form });
  return { status: response.status, body: (await response.json()) as any };
}

async function waitForBatch(gateway: Gateway, id: string, timeoutMs = 60_000) {
  const api = client(gateway.url);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const batch = (await api.get(`/v1/batches/${id}`)).body;
    if (['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) return batch;
    if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('batches', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        providers: {
          mock: { type: 'mock', latency_ms: 0, concurrency: 64 },
          slow: { type: 'mock', latency_ms: 300, concurrency: 2 },
          glacial: { type: 'mock', latency_ms: 30_000, concurrency: 1 },
        },
        routes: { default: ['mock/echo'], slow: ['slow/echo'], glacial: ['glacial/echo'] },
        jobs: { sweep_interval_ms: 100 },
        webhooks: { secret: SECRET, allow_private_networks: true, retry_schedule_s: [0.1] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('a 10,000-request batch completes and its counts add up', async () => {
    const file = await upload(gateway, jsonl(10_000));
    expect(file.status).toBe(200);
    const api = client(gateway.url);
    const created = await api.post('/v1/batches', { input_file_id: file.body.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect(created.status).toBe(200);
    expect(created.body.status).toBe('validating');
    const batch = await waitForBatch(gateway, created.body.id);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 10_000, completed: 10_000, failed: 0 });
    expect(batch.error_file_id).toBeNull();
    const output = await fetch(`${gateway.url}/v1/files/${batch.output_file_id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    const lines = (await output.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines).toHaveLength(10_000);
    expect(new Set(lines.map((line) => line.custom_id)).size).toBe(10_000);
    const sample = lines.find((line) => line.custom_id === 'req-1234');
    expect(sample.response.body.choices[0].message.content).toContain('item 1234');
    // Children are ordinary jobs, low priority by default, carrying the batch id.
    const child = (await api.get(`/v1/jobs/${sample.response.request_id}`)).body;
    expect(child).toMatchObject({ batch_id: batch.id, custom_id: 'req-1234', priority: 'low', status: 'succeeded' });
  }, 90_000);

  it('cancelling a batch cancels its queued children; running ones finish; counts still add up', async () => {
    const api = client(gateway.url);
    const file = await upload(gateway, jsonl(40, 'slow'));
    const created = await api.post('/v1/batches', { input_file_id: file.body.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    for (;;) {
      const batch = (await api.get(`/v1/batches/${created.body.id}`)).body;
      if (batch.status === 'in_progress' && batch.request_counts.total === 40) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const cancelling = await api.post(`/v1/batches/${created.body.id}/cancel`);
    expect(cancelling.status).toBe(200);
    expect(cancelling.body.status).toBe('cancelling');
    const batch = await waitForBatch(gateway, created.body.id, 20_000);
    expect(batch.status).toBe('cancelled');
    expect(batch.request_counts.completed + batch.request_counts.failed).toBe(40);
    expect(batch.request_counts.failed).toBeGreaterThanOrEqual(30);
    const errors = await fetch(`${gateway.url}/v1/files/${batch.error_file_id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    const lines = (await errors.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.every((line) => line.error.code === 'batch_cancelled')).toBe(true);
    expect(lines).toHaveLength(batch.request_counts.failed);
    expect((await api.post(`/v1/batches/${created.body.id}/cancel`)).status).toBe(409);
  }, 30_000);

  it('a batch whose completion window runs out ends expired, with what finished in its output', async () => {
    const api = client(gateway.url);
    // One request finishes; the others are still waiting on a provider that takes 30 s.
    const input = `${jsonl(1, 'default')}\n${jsonl(5, 'glacial', 1)}`;
    const file = await upload(gateway, input);
    const created = await api.post('/v1/batches', { input_file_id: file.body.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    for (;;) {
      const batch = (await api.get(`/v1/batches/${created.body.id}`)).body;
      if (batch.status === 'in_progress' && batch.request_counts.total === 6 && batch.request_counts.completed === 1) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // The 24 h window passing, simulated: every child's deadline moves to the past, in its record (what
    // the sweep goes by) and in the deadline index (which tells the sweep to look).
    const redis = new Redis(gateway.config.redis.url);
    try {
      const prefix = gateway.config.redis.prefix;
      const children = await redis.lrange(`${prefix}:batch:${created.body.id}:jobs`, 0, -1);
      expect(children).toHaveLength(6);
      for (const id of children) await redis.hset(jobRecordKey(prefix, id), 'expires_at', '1');
      await redis.zadd(`${prefix}:expiry`, ...children.flatMap((id) => [1, id]));
    } finally {
      redis.disconnect();
    }
    const batch = await waitForBatch(gateway, created.body.id, 20_000);
    expect(batch.status).toBe('expired');
    expect(batch.expired_at).toEqual(expect.any(Number));
    expect(batch.request_counts).toEqual({ total: 6, completed: 1, failed: 5 });
    const errors = await fetch(`${gateway.url}/v1/files/${batch.error_file_id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    const lines = (await errors.text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.map((line) => line.error.code)).toEqual(Array(batch.request_counts.failed).fill('deadline_exceeded'));
  }, 30_000);

  it('inline requests, a batch.completed webhook, and tenant isolation', async () => {
    const receiver = await startWebhookReceiver();
    try {
      const api = client(gateway.url);
      const created = await api.post('/v1/batches', {
        requests: [
          { custom_id: 'a', body: { model: 'default', messages: [{ role: 'user', content: 'one' }] } },
          { custom_id: 'b', body: { model: 'default', messages: [{ role: 'user', content: 'two' }], temperature: 'hot' } },
        ],
        webhook: { url: receiver.url },
      });
      expect(created.status).toBe(200);
      const batch = await waitForBatch(gateway, created.body.id);
      expect(batch.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
      const [delivery] = await receiver.waitFor(1);
      const event = new Webhook(SECRET).verify(delivery!.body, delivery!.headers as Record<string, string>) as { type: string; data: { id: string } };
      expect(event).toMatchObject({ type: 'batch.completed', data: { id: batch.id } });
      const errors = await fetch(`${gateway.url}/v1/files/${batch.error_file_id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
      expect(JSON.parse((await errors.text()).trim())).toMatchObject({ custom_id: 'b', error: { code: 'invalid_request', message: expect.stringContaining('temperature') } });

      const files = (await api.get('/v1/files')).body.data.map((file: { id: string }) => file.id);
      expect(files).toEqual(expect.arrayContaining([batch.input_file_id, batch.output_file_id, batch.error_file_id]));
      const other = client(gateway.url, KEYS.globex);
      expect((await other.get('/v1/files')).body.data.map((file: { id: string }) => file.id)).not.toContain(batch.output_file_id);
      expect((await other.get(`/v1/batches/${batch.id}`)).status).toBe(404);
      expect((await other.get(`/v1/files/${batch.output_file_id}`)).status).toBe(404);
      expect((await other.get(`/v1/files/${batch.output_file_id}/content`)).status).toBe(404);
      expect((await other.post('/v1/batches', { input_file_id: batch.input_file_id })).status).toBe(404);
    } finally {
      await receiver.close();
    }
  });

  it('bad uploads and bad batch requests get 4xx naming the problem', async () => {
    const broken = `${jsonl(2)}\n{not json}\n${JSON.stringify({ custom_id: 'req-0', method: 'POST', url: '/v1/chat/completions', body: {} })}\n${JSON.stringify({ custom_id: 'x', method: 'GET', url: '/v1/embeddings', body: {} })}`;
    const refused = await upload(gateway, broken);
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_file');
    expect(refused.body.error.message).toContain('line 3: not valid JSON');
    expect(refused.body.error.message).toContain('line 4: custom_id "req-0" is used twice');
    expect(refused.body.error.message).toMatch(/line 5: .*method/);
    expect((await upload(gateway, jsonl(1), KEYS.acme, 'fine-tune')).body.error.code).toBe('invalid_purpose');
    const api = client(gateway.url);
    expect((await api.post('/v1/batches', {})).body.error.message).toContain('exactly one of input_file_id or requests');
    expect((await api.post('/v1/batches', { input_file_id: 'file-doesnotexist', endpoint: '/v1/completions' })).body.error.param).toBe('endpoint');
    expect((await api.post('/v1/batches', { input_file_id: 'file-AAAAAAAAAAAAAAAAAAAAAA' })).status).toBe(404);
    expect((await api.get('/v1/batches/batch_nope')).status).toBe(404);
    const small = await startGateway(makeConfig({ providers: { mock: { type: 'mock' } }, routes: { default: ['mock/echo'] }, server: { host: '127.0.0.1', port: 0, file_limit: '2kb' } }), { worker: false });
    try {
      const tooBig = await upload(small, jsonl(50));
      expect(tooBig.status).toBe(413);
      expect(tooBig.body.error).toMatchObject({ code: 'file_too_large', param: 'file' });
      expect((await upload(small, jsonl(1))).status).toBe(200);
    } finally {
      await small.close();
    }
    const noFile = await fetch(`${gateway.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'application/json' }, body: '{}' });
    expect(noFile.status).toBe(400);
  });
});
