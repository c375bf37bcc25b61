import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeProvider, type FakeProviderServer } from '@sluice/providers/testing';
import { client, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

/** What OpenAI's 401 quotes of the key: a masked prefix and its last four characters. */
const ECHOED_KEY = 'sk-proj-********************************wxyz';
const OPENAI_KEY = 'sk-proj-e2e-secret-0000wxyz';

const REFUSALS = [
  {
    provider: 'openrouter',
    route: 'moderated',
    says: 'Your input was flagged for "harassment"',
    body: {
      error: {
        code: 403,
        message: 'meta-llama/llama-3.1-8b-instruct requires moderation on OpenAI. Your input was flagged for "harassment".',
        metadata: { reasons: ['harassment'], flagged_input: 'you are a useless ...', provider_name: 'OpenAI', model_slug: 'meta-llama/llama-3.1-8b-instruct' },
      },
    },
  },
  {
    provider: 'gemini',
    route: 'gem',
    says: 'You do not have permission to access the File 2kq9t7xw1bcd',
    body: { error: { code: 403, message: 'You do not have permission to access the File 2kq9t7xw1bcd or it may not exist.', status: 'PERMISSION_DENIED' } },
  },
] as const;

async function circuitOf(api: ReturnType<typeof client>, id: string): Promise<{ state: string; reason: string | null }> {
  const reply = await api.get('/v1/providers');
  expect(reply.status).toBe(200);
  const view = (reply.body.data as { id: string; circuit: { state: string; reason: string | null } }[]).find((provider) => provider.id === id);
  if (view === undefined) throw new Error(`provider ${id} missing from /v1/providers`);
  return view.circuit;
}

describe('provider refusals: a 403 about one request fails that job alone; a 401 opens the circuit and keeps the key out of the job', () => {
  let openrouter: FakeProviderServer;
  let gemini: FakeProviderServer;
  let openai: FakeProviderServer;
  let gateway: Gateway;

  beforeAll(async () => {
    [openrouter, gemini, openai] = await Promise.all([startFakeProvider('openai'), startFakeProvider('gemini'), startFakeProvider('openai')]);
    gateway = await startGateway(
      makeConfig({
        providers: {
          openrouter: { type: 'openai-compatible', base_url: openrouter.url, api_key: 'sk-or-v1-e2e-secret' },
          gemini: { type: 'gemini', base_url: gemini.url, api_key: 'gm-e2e-secret' },
          openai: { type: 'openai', base_url: openai.url, api_key: OPENAI_KEY },
        },
        routes: { moderated: ['openrouter/llama-3.1-8b-instruct'], gem: ['gemini/gemini-2.0-flash'], gpt: ['openai/gpt-4o-mini'] },
        pricing: { 'openrouter/llama-3.1-8b-instruct': { input: 0.02, output: 0.05 } },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openrouter.close(), gemini.close(), openai.close()]);
  });

  it.each(REFUSALS)('$provider: a request-specific 403 fails the job with provider_refused_request, the circuit stays closed, and another tenant is served', async (refusal) => {
    const fake = refusal.provider === 'gemini' ? gemini : openrouter;
    fake.script({ status: 403, body: refusal.body });
    const acme = client(gateway.url, KEYS.acme);
    const refused = await acme.waitForJob((await acme.post('/v1/jobs', { model: refusal.route, messages: userMessage('refused') })).body.id);
    expect(refused.status).toBe('failed');
    expect(refused.error).toMatchObject({ type: 'provider_error', code: 'provider_refused_request' });
    expect(refused.error?.message).toContain(refusal.says);
    expect(refused.attempts).toEqual([expect.objectContaining({ provider: refusal.provider, status_code: 403, outcome: 'fatal_error' })]);
    expect(refused.routing.failovers).toEqual([]);
    expect(await circuitOf(acme, refusal.provider)).toMatchObject({ state: 'closed', reason: null });

    const globex = client(gateway.url, KEYS.globex);
    const next = await globex.waitForJob((await globex.post('/v1/jobs', { model: refusal.route, messages: userMessage('next tenant') })).body.id);
    expect(next).toMatchObject({ status: 'succeeded', provider: refusal.provider });
    expect(next.result?.choices[0]?.message.content).toBe('fake: next tenant');
  });

  it('a 401 opens the circuit, and neither the attempt nor the job error holds the key the provider echoed', async () => {
    openai.setReply(() => ({
      status: 401,
      body: { error: { message: `Incorrect API key provided: ${ECHOED_KEY}. You can find your API key at https://platform.openai.com/account/api-keys.`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    }));
    const api = client(gateway.url);
    const job = await api.waitForJob((await api.post('/v1/jobs', { model: 'gpt', messages: userMessage('bad key upstream') })).body.id);
    expect(job).toMatchObject({ status: 'failed', error: { code: 'all_targets_failed' } });
    expect(job.attempts).toEqual([expect.objectContaining({ provider: 'openai', status_code: 401, outcome: 'fatal_error' })]);
    expect(job.attempts[0]?.error).toMatch(/^openai: HTTP 401: authentication failed/);
    for (const text of [JSON.stringify(job), ...gateway.logs]) {
      expect(text).not.toContain('wxyz');
      expect(text).not.toContain('Incorrect API key provided');
    }
    const circuit = await circuitOf(api, 'openai');
    expect(circuit.reason).toBe('auth_error');
    expect(circuit.state).not.toBe('closed');
  });
});
