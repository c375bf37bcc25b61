import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { metricsRegistry } from '@sluice/shared';
import { MAX_UNLISTED_MODEL_LABELS, MAX_USAGE_FIELDS_PER_HOUR } from '@sluice/engine';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('model names a client makes up do not grow metric series or usage fields without bound', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(makeConfig({ providers: { mock: { type: 'mock', latency_ms: 0 } }, routes: { default: ['mock/echo'] } }));
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('past the bounds, unlisted models are counted as "other"; listed ones keep their name', async () => {
    const distinct = MAX_USAGE_FIELDS_PER_HOUR / 4 + 100; // four usage fields per tenant, provider and model
    const api = client(gateway.url, KEYS.globex);
    const batch = await api.post('/v1/batches', {
      requests: Array.from({ length: distinct }, (_, index) => ({ custom_id: `m${index}`, body: { model: `mock/made-up-${index}`, messages: userMessage('x') } })),
    });
    expect(batch.status).toBe(200);
    await eventually(async () => ((await api.get(`/v1/batches/${batch.body.id}`)).body.status === 'completed' ? true : undefined), 30_000, 'batch completed');
    const listed = await api.post('/v1/jobs', { model: 'default', messages: userMessage('listed') });
    await api.waitForJob(listed.body.id);

    const text = await metricsRegistry.metrics();
    const models = new Set([...text.matchAll(/^sluice_tokens_total\{provider="mock",model="([^"]*)"/gm)].map((match) => match[1]));
    expect(models.has('echo')).toBe(true);
    expect(models.has('other')).toBe(true);
    expect(models.size).toBeLessThanOrEqual(MAX_UNLISTED_MODEL_LABELS + 2);

    const usage = await client(gateway.url, KEYS.admin).get('/v1/usage?group_by=tenant,model');
    const rows = usage.body.data.filter((row: { tenant: string }) => row.tenant === 'globex');
    expect(rows.length).toBeLessThanOrEqual(MAX_USAGE_FIELDS_PER_HOUR / 4 + 2);
    expect(rows.find((row: { model: string }) => row.model === 'echo')?.requests).toBe(1);
    const other = rows.find((row: { model: string }) => row.model === 'other');
    expect(other?.requests).toBeGreaterThanOrEqual(100);
    // Nothing is lost: every request is counted under its own name or under "other".
    expect(rows.reduce((sum: number, row: { requests: number }) => sum + row.requests, 0)).toBe(distinct + 1);
  }, 60_000);
});
