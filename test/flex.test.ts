import { afterEach, describe, expect, it } from 'vitest';
import { FLEX_UNAVAILABLE_REPLY, startFakeOpenAI, type FakeProviderServer } from '@sluice/providers/testing';
import { client, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const HOUR = 3600;
const tiers = (fake: FakeProviderServer): unknown[] => fake.requests.filter((request) => request.method === 'POST').map((request) => (request.body as { service_tier?: string }).service_tier ?? null);

describe('the flex tier for work that can wait', () => {
  let fake: FakeProviderServer;
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await fake.close();
  });

  const start = async () => {
    fake = await startFakeOpenAI();
    gateway = await startGateway(
      makeConfig({
        providers: { openai: { type: 'openai', base_url: fake.url, api_key: 'test-key', retry: { attempts: 3, backoff_ms: 50, max_backoff_ms: 100 }, flex: { enabled: true, models: ['o4-mini'], timeout_ms: 900_000 } } },
        routes: { cheap: ['openai/o4-mini'] },
      } as never),
    );
    return client(gateway.url);
  };

  it('an economy job runs in the flex tier at the flex price; a standard one in the default tier', async () => {
    const api = await start();
    const economy = await api.post('/v1/jobs', { model: 'cheap', tier: 'economy', deadline_s: 48 * HOUR, messages: userMessage('flex') });
    const job = await api.waitForJob(economy.body.id);
    expect(job).toMatchObject({ status: 'succeeded', execution: { mode: 'flex' }, cost_details: { discount: 'flex' } });
    const usage = job.usage!;
    const list = (usage.prompt_tokens * job.cost_details!.input_usd_per_1m! + usage.completion_tokens * job.cost_details!.output_usd_per_1m!) / 1e6;
    expect(job.cost_usd).toBeCloseTo(list / 2, 12);
    const standard = await api.post('/v1/jobs', { model: 'cheap', messages: userMessage('default') });
    expect(await api.waitForJob(standard.body.id)).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime' }, cost_details: { discount: null } });
    expect(tiers(fake)).toEqual(['flex', null]);
    // What flex saved is counted per provider, model, tenant and mode.
    const metrics = await (await fetch(`${gateway!.url}/metrics`, { headers: { authorization: `Bearer ${KEYS.admin}` } })).text();
    const saved = /^sluice_saved_usd_total\{provider="openai",model="o4-mini",tenant="acme",mode="flex"\} (\S+)$/m.exec(metrics);
    expect(Number(saved?.[1])).toBeCloseTo(list / 2, 12);
  });

  it('flex out of capacity: tried again in flex later, or at once in the default tier when the deadline is near; the circuit stays closed', async () => {
    const api = await start();
    fake.script(FLEX_UNAVAILABLE_REPLY);
    const later = await api.post('/v1/jobs', { model: 'cheap', tier: 'economy', deadline_s: 48 * HOUR, messages: userMessage('later') });
    expect(await api.waitForJob(later.body.id)).toMatchObject({ status: 'succeeded', execution: { mode: 'flex' }, attempts: [{ status_code: 429 }, { outcome: 'succeeded' }] });
    expect(tiers(fake)).toEqual(['flex', 'flex']);

    fake.script(FLEX_UNAVAILABLE_REPLY);
    const near = await api.post('/v1/jobs', { model: 'cheap', tier: 'economy', deadline_s: 1200, messages: userMessage('near') });
    expect(await api.waitForJob(near.body.id)).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime' }, cost_details: { discount: null } });
    expect(tiers(fake).slice(2)).toEqual(['flex', null]);
    const providers = await client(gateway!.url).get('/v1/providers');
    expect(providers.body.data[0]).toMatchObject({ circuit: { state: 'closed' }, paused: false });
  });
});
