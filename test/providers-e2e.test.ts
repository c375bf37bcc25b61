import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProviderServer } from '@sluice/providers/testing';
import { PRICE_TABLE_VERSION } from '@sluice/providers';
import { client, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const SECRETS = { openai: 'sk-openai-secret-1111', anthropic: 'sk-ant-secret-2222', gemini: 'gm-secret-3333', azure: 'az-secret-4444' };

describe('a job routed to each wire format succeeds end to end with usage and cost', () => {
  let openai: FakeProviderServer;
  let anthropic: FakeProviderServer;
  let gemini: FakeProviderServer;
  let gateway: Gateway;

  beforeAll(async () => {
    [openai, anthropic, gemini] = await Promise.all([startFakeProvider('openai'), startFakeProvider('anthropic'), startFakeProvider('gemini')]);
    gateway = await startGateway(
      makeConfig({
        providers: {
          openai: { type: 'openai', base_url: openai.url, api_key: SECRETS.openai },
          anthropic: { type: 'anthropic', base_url: anthropic.url, api_key: SECRETS.anthropic },
          gemini: { type: 'gemini', base_url: gemini.url, api_key: SECRETS.gemini },
          azure: { type: 'openai-compatible', base_url: `${openai.url}/deployments/prod-4o?api-version=2024-10-21`, headers: { 'api-key': SECRETS.azure } },
          unkeyed: { type: 'anthropic', api_key: '' },
        },
        routes: {
          gpt: ['openai/gpt-4o-mini'],
          claude: ['anthropic/claude-3-5-haiku-latest'],
          gem: ['gemini/gemini-2.0-flash'],
          azure: ['azure/gpt-4o'],
          guarded: ['unkeyed/claude-3-5-haiku-latest', 'anthropic/claude-3-5-haiku-latest', 'openai/gpt-4o-mini'],
        },
        pricing: { 'azure/gpt-4o': { input: 2.5, output: 10 } },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openai.close(), anthropic.close(), gemini.close()]);
  });

  const run = async (body: Record<string, unknown>) => {
    const api = client(gateway.url);
    const submitted = await api.post('/v1/jobs', body);
    expect(submitted.status).toBe(202);
    const job = await api.waitForJob(submitted.body.id);
    expect(job.status).toBe('succeeded');
    return job;
  };
  const systemAndUser = (text: string) => [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: text }];

  it('openai: bundled price, key as Bearer', async () => {
    const job = await run({ model: 'gpt', messages: systemAndUser('to openai') });
    expect(job.result?.choices[0]?.message.content).toBe('fake: to openai');
    expect(job.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
    expect(job.cost_usd).toBeCloseTo((9 * 0.15 + 12 * 0.6) / 1e6, 15);
    expect(job.cost_details).toEqual({
      price_source: `bundled:${PRICE_TABLE_VERSION}`, input_usd_per_1m: 0.15, output_usd_per_1m: 0.6, reason: null,
      cached_input_usd_per_1m: 0.075, cache_write_5m_usd_per_1m: 0.15, cache_write_1h_usd_per_1m: 0.15, discount: null, saved_usd: 0,
    });
    const seen = openai.requests.find((request) => JSON.stringify(request.body).includes('to openai'));
    expect(seen?.headers.authorization).toBe(`Bearer ${SECRETS.openai}`);
    expect((seen?.body as { messages: unknown[] }).messages).toEqual(systemAndUser('to openai'));
  });

  it('anthropic: system hoisted, max_tokens set, x-api-key header', async () => {
    const job = await run({ model: 'claude', messages: systemAndUser('to claude') });
    expect(job.provider).toBe('anthropic');
    expect(job.result?.choices[0]?.message.content).toBe('fake: to claude');
    expect(job.cost_usd).toBeCloseTo((9 * 0.8 + 12 * 4) / 1e6, 15);
    const seen = anthropic.requests.find((request) => JSON.stringify(request.body).includes('to claude'));
    expect(seen?.path).toBe('/v1/messages');
    expect(seen?.headers['x-api-key']).toBe(SECRETS.anthropic);
    expect(seen?.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen?.body).toEqual({
      model: 'claude-3-5-haiku-latest',
      max_tokens: 4096,
      system: 'You are terse.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'to claude' }] }],
    });
  });

  it('anthropic: cache reads, 5-minute and 1-hour writes and output each priced at their own rate', async () => {
    anthropic.script({
      body: {
        id: 'msg_cached', type: 'message', role: 'assistant', model: 'claude-3-5-haiku-20241022', content: [{ type: 'text', text: 'cached' }], stop_reason: 'end_turn', stop_sequence: null,
        usage: { input_tokens: 50, cache_read_input_tokens: 1000, cache_creation_input_tokens: 400, cache_creation: { ephemeral_5m_input_tokens: 100, ephemeral_1h_input_tokens: 300 }, output_tokens: 300 },
      },
    });
    const job = await run({ model: 'claude', messages: userMessage('cached prompt') });
    expect(job.usage).toEqual({
      prompt_tokens: 1450, completion_tokens: 300, total_tokens: 1750,
      prompt_tokens_details: { cached_tokens: 1000, cache_write_5m_tokens: 100, cache_write_1h_tokens: 300 },
    });
    // Claude 3.5 Haiku: 50 × $0.80 + 1,000 reads × $0.08 + 100 × $1.00 + 300 × $1.60 + 300 output × $4.
    expect(job.cost_usd).toBeCloseTo(1900 / 1e6, 15);
    expect(job.cost_details).toMatchObject({ cached_input_usd_per_1m: 0.08, cache_write_5m_usd_per_1m: 1, cache_write_1h_usd_per_1m: 1.6, discount: null, saved_usd: 0 });
  });

  it('gemini: contents/parts and systemInstruction, x-goog-api-key header', async () => {
    const job = await run({ model: 'gem', messages: systemAndUser('to gemini'), max_tokens: 77, temperature: 0.1 });
    expect(job.provider).toBe('gemini');
    expect(job.result?.choices[0]?.message.content).toBe('fake: to gemini');
    expect(job.cost_usd).toBeCloseTo((9 * 0.1 + 12 * 0.4) / 1e6, 15);
    const seen = gemini.requests.find((request) => JSON.stringify(request.body).includes('to gemini'));
    expect(seen?.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(seen?.headers['x-goog-api-key']).toBe(SECRETS.gemini);
    expect(seen?.body).toEqual({
      contents: [{ role: 'user', parts: [{ text: 'to gemini' }] }],
      systemInstruction: { parts: [{ text: 'You are terse.' }] },
      generationConfig: { maxOutputTokens: 77, temperature: 0.1 },
    });
  });

  it('azure (openai-compatible preset): deployment URL, api-key header, config price', async () => {
    const job = await run({ model: 'azure', messages: userMessage('to azure') });
    expect(job.cost_details?.price_source).toBe('config');
    const seen = openai.requests.find((request) => JSON.stringify(request.body).includes('to azure'));
    expect(seen?.path).toBe('/v1/deployments/prod-4o/chat/completions?api-version=2024-10-21');
    expect(seen?.headers['api-key']).toBe(SECRETS.azure);
    expect(seen?.headers.authorization).toBeUndefined();
  });

  it('a model with no price says so: cost_usd null with a reason, never 0', async () => {
    const job = await run({ model: 'openai/my-finetune-x', messages: userMessage('no price') });
    expect(job.cost_usd).toBeNull();
    expect(job.cost_details?.reason).toMatch(/^no_price: no price for openai\/my-finetune-x/);
  });

  it('skips a provider without a key and one that cannot take a parameter, saying why', async () => {
    const job = await run({ model: 'guarded', messages: userMessage('guarded'), seed: 5 });
    expect(job.provider).toBe('openai');
    expect(job.routing.candidates.map((candidate) => [candidate.provider, candidate.eligible, candidate.reason])).toEqual([
      ['unkeyed', false, 'provider_disabled'],
      ['anthropic', false, 'unsupported_parameter'],
      ['openai', true, null],
    ]);
  });

  it('never logs a provider key', () => {
    const logs = gateway.logs.join('\n');
    for (const secret of Object.values(SECRETS)) expect(logs).not.toContain(secret);
  });
});
