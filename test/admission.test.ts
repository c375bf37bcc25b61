import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const LIMITED = 'sk-test-limited-0004';
const THRIFTY = 'sk-test-thrifty-0005';
const FRUGAL = 'sk-test-frugal-0006';
const LAX = 'sk-test-lax-0007';

describe('admission: routing decisions, idempotency, tenant limits and budgets', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  beforeAll(async () => {
    fake = await startFakeOpenAI();
    const provider = (extra: Record<string, unknown> = {}) => ({ type: 'openai-compatible' as const, base_url: fake.url, ...extra });
    gateway = await startGateway(
      makeConfig({
        auth: {
          keys: [
            { key: KEYS.acme, tenant: 'acme' },
            { key: KEYS.globex, tenant: 'globex' },
            { key: KEYS.admin, tenant: 'ops', role: 'admin' },
            { key: LIMITED, tenant: 'limited', rpm: 3 },
            { key: THRIFTY, tenant: 'thrifty', monthly_budget_usd: 0.001 },
            { key: FRUGAL, tenant: 'frugal', monthly_budget_usd: 0.001, over_budget: 'economy' },
            { key: LAX, tenant: 'lax', monthly_budget_usd: 0.001, allow_unpriced: true },
          ],
        },
        providers: {
          premium: provider(),
          budget: provider(),
          local: provider({ context_window: 50 }),
          keyless: { type: 'openai', api_key: '' },
        },
        pricing: {
          'premium/big': { input: 10, output: 30 },
          'budget/small': { input: 0.1, output: 0.4 },
          'local/tiny': { input: 0, output: 0 },
        },
        routes: {
          default: ['budget/small'],
          cheap: { strategy: 'cheapest', targets: ['premium/big', 'keyless/gpt-4o', 'budget/small', 'local/tiny'] },
          pricey: ['premium/big'],
          premium_first: ['premium/big', 'budget/small'],
        },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('cheapest-first picks the cheapest eligible target and says why each other was not taken', async () => {
    const api = client(gateway.url);
    const long = 'x'.repeat(400); // ~100 tokens: past local/tiny's 50-token window
    const submitted = await api.post('/v1/jobs', { model: 'cheap', messages: userMessage(long), max_tokens: 10 });
    expect(submitted.status).toBe(202);
    const routing = submitted.body.routing;
    expect(routing.strategy).toBe('cheapest');
    expect(routing.candidates.map((c: { provider: string; eligible: boolean; reason: string | null }) => [c.provider, c.eligible, c.reason])).toEqual([
      ['local', false, 'context_too_long'],
      ['budget', true, null],
      ['keyless', false, 'provider_disabled'],
      ['premium', true, null],
    ]);
    const costs = routing.candidates.map((c: { est_cost_usd: number | null }) => c.est_cost_usd);
    expect([...costs].sort((x, y) => x - y)).toEqual(costs);
    const job = await api.waitForJob(submitted.body.id);
    expect(job).toMatchObject({ status: 'succeeded', provider: 'budget', provider_model: 'small' });
    expect(gateway.logs.some((line) => line.includes(submitted.body.id) && line.includes('"candidates"'))).toBe(true);
  });

  it('an economy-tier job sorts an ordered route by cost too', async () => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', { model: 'cheap', messages: userMessage('hi'), tier: 'economy', max_tokens: 10 });
    expect(submitted.body.routing.candidates[0]).toMatchObject({ provider: 'local', eligible: true });
  });

  it('Idempotency-Key returns the same job for the same body, 409 for another body, and is per tenant', async () => {
    const api = client(gateway.url);
    const body = { model: 'default', messages: userMessage('once only') };
    const first = await api.post('/v1/jobs', body, { 'idempotency-key': 'order-42' });
    const again = await api.post('/v1/jobs', body, { 'idempotency-key': 'order-42' });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body.id).toBe(first.body.id);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    const conflict = await api.post('/v1/jobs', { ...body, messages: userMessage('something else') }, { 'idempotency-key': 'order-42' });
    expect(conflict.status).toBe(409);
    expect(conflict.body.error).toMatchObject({ code: 'idempotency_key_reused', param: 'Idempotency-Key' });
    const otherTenant = await client(gateway.url, KEYS.globex).post('/v1/jobs', body, { 'idempotency-key': 'order-42' });
    expect(otherTenant.status).toBe(202);
    expect(otherTenant.body.id).not.toBe(first.body.id);
    const bad = await api.post('/v1/jobs', body, { 'idempotency-key': 'has spaces in it' });
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('invalid_idempotency_key');
    await api.waitForJob(first.body.id);
    await client(gateway.url, KEYS.globex).waitForJob(otherTenant.body.id);
    // Ran once per tenant: acme's replay and conflict sent nothing to the provider.
    expect(fake.requests.filter((request) => JSON.stringify(request.body).includes('once only'))).toHaveLength(2);
  });

  it("a tenant's rpm is enforced across the API with 429 and Retry-After", async () => {
    const api = client(gateway.url, LIMITED);
    const statuses: number[] = [];
    let limited: Awaited<ReturnType<typeof api.post>> | null = null;
    for (let index = 0; index < 4; index += 1) {
      const reply = await api.post('/v1/jobs', { model: 'default', messages: userMessage(`rpm ${index}`) });
      statuses.push(reply.status);
      if (reply.status === 429) limited = reply;
    }
    expect(statuses).toEqual([202, 202, 202, 429]);
    expect(limited?.body.error).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('a tenant over its monthly budget gets 429 budget_exceeded; estimates are reserved and settled with the real cost', async () => {
    const api = client(gateway.url, THRIFTY);
    // premium/big: ~(7 × $10 + 1024 × $30) / 1M ≈ $0.031 estimated, over the $0.001 budget.
    const refused = await api.post('/v1/jobs', { model: 'pricey', messages: userMessage('expensive') });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'budget_exceeded', type: 'rate_limit_error' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    // budget/small with max_tokens 100: ~$0.00004 reserved, then settled to the real cost.
    const fits = await api.post('/v1/jobs', { model: 'default', messages: userMessage('cheap'), max_tokens: 100 });
    expect(fits.status).toBe(202);
    const job = await api.waitForJob(fits.body.id);
    expect(job.status).toBe('succeeded');
    const { createSpendLedger } = await import('@sluice/engine');
    const { Redis } = await import('ioredis');
    const redis = new Redis(gateway.config.redis.url);
    try {
      const ledger = createSpendLedger(redis, gateway.config.redis.prefix);
      // Settled just after the status flips: the reservation gives way to the real cost.
      await eventually(async () => Math.abs((await ledger.spent('thrifty', job.created_at)) - (job.cost_usd ?? -1)) < 1e-12, 5_000, 'spend settled');
    } finally {
      redis.disconnect();
    }
  });

  it('over_budget: economy routes a job whose usual target would pass the budget to the cheapest one that fits', async () => {
    const frugal = client(gateway.url, FRUGAL);
    const submitted = await frugal.post('/v1/jobs', { model: 'premium_first', messages: userMessage('thrift'), max_tokens: 100 });
    expect(submitted.status).toBe(202);
    expect(submitted.body).toMatchObject({ tier: 'economy', routing: { strategy: 'cheapest', tier: 'economy' } });
    expect(submitted.body.routing.candidates.map((c: { provider: string; reason: string | null }) => [c.provider, c.reason])).toEqual([
      ['budget', null],
      ['premium', 'over_budget'],
    ]);
    expect((await frugal.waitForJob(submitted.body.id)).provider).toBe('budget');
    // A reject-mode tenant with the same route and budget is not re-routed: its usual target is skipped, the next one that fits runs.
    const thrifty = await client(gateway.url, THRIFTY).post('/v1/jobs', { model: 'premium_first', messages: userMessage('thrift'), max_tokens: 100 });
    expect(thrifty.body).toMatchObject({ tier: 'standard', routing: { strategy: 'ordered' } });
  });

  it('a key with a budget cannot run a target that has no price (no_price), unless it allows unpriced targets', async () => {
    // budget/unlisted has no price: its cost would be invisible to the budget, which a spent budget must not allow.
    const refused = await client(gateway.url, THRIFTY).post('/v1/jobs', { model: 'budget/unlisted', messages: userMessage('free ride?') });
    expect(refused.status).toBe(400);
    expect(refused.body.error).toMatchObject({ code: 'no_eligible_target', param: 'model' });
    expect(refused.body.error.message).toContain('budget/unlisted: no_price');
    expect(refused.body.error.message).toContain('allow_unpriced');
    // In a route, an unpriced target is skipped with its reason and a priced one runs.
    const mixed = await client(gateway.url, THRIFTY).post('/v1/jobs', { model: 'budget/unlisted', fallbacks: ['budget/small'], messages: userMessage('mixed'), max_tokens: 10 });
    expect(mixed.status).toBe(202);
    expect(mixed.body.routing.candidates.map((c: { model: string; reason: string | null }) => [c.model, c.reason])).toEqual([
      ['unlisted', 'no_price'],
      ['small', null],
    ]);
    // A key that allows unpriced targets runs it; its cost is null with a reason, never a silent 0.
    const lax = client(gateway.url, LAX);
    const allowed = await lax.post('/v1/jobs', { model: 'budget/unlisted', messages: userMessage('allowed') });
    expect(allowed.status).toBe(202);
    const job = await lax.waitForJob(allowed.body.id);
    expect(job).toMatchObject({ status: 'succeeded', cost_usd: null });
    expect(job.cost_details?.reason).toMatch(/^no_price/);
    // A key without a budget is not affected.
    const free = await client(gateway.url).post('/v1/jobs', { model: 'budget/unlisted', messages: userMessage('no budget') });
    expect(free.status).toBe(202);
  });
});
