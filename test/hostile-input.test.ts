import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

/** A model name that made a backtracking suffix pattern run for minutes. */
const CRAFTED = `gpt-4o${'-exp'.repeat(30)}!`;

/** How long `send` takes, in ms, with its reply. */
async function timed<T>(send: () => Promise<T>): Promise<{ ms: number; reply: T }> {
  const started = performance.now();
  const reply = await send();
  return { ms: performance.now() - started, reply };
}

describe('hostile input: crafted names and deep JSON are refused at once, and nobody else waits', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        server: { host: '127.0.0.1', port: 0, body_limit: '2mb' },
        // Vendor providers without keys are disabled, yet their model names are still priced.
        providers: { openai: { type: 'openai', api_key: '' }, anthropic: { type: 'anthropic', api_key: '' }, gemini: { type: 'gemini', api_key: '' }, mock: { type: 'mock', latency_ms: 1 } },
        routes: { default: ['mock/echo'] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
  });

  const BOUND_MS = 750;

  it('a crafted model name is answered at once (well under the seconds a backtracking match takes), as a model, a fallback and a batch line', async () => {
    const api = client(gateway.url);
    // Warm the paths up first: the first request of a process pays for compiling them.
    await api.post('/v1/jobs', { model: 'openai/gpt-4o', messages: userMessage('x') });
    await api.post('/v1/jobs', { model: 'default', fallbacks: ['openai/gpt-4o'], messages: userMessage('x') });
    // The bound is far above a normal answer and far below the seconds to minutes an exponential
    // match of this input takes, so a loaded test machine cannot fail it but a regression still does.
    const asModel = await timed(() => api.post('/v1/jobs', { model: `openai/${CRAFTED}`, messages: userMessage('x') }));
    expect(asModel.reply.status).toBe(400);
    expect(asModel.reply.body.error.code).toBe('no_eligible_target');
    expect(asModel.ms).toBeLessThan(BOUND_MS);
    for (const provider of ['anthropic', 'gemini']) {
      const other = await timed(() => api.post('/v1/jobs', { model: `${provider}/claude${CRAFTED}`, messages: userMessage('x') }));
      expect(other.reply.status).toBe(400);
      expect(other.ms).toBeLessThan(BOUND_MS);
    }
    const asFallback = await timed(() => api.post('/v1/jobs', { model: 'default', fallbacks: [`openai/${CRAFTED}`], messages: userMessage('x') }));
    expect(asFallback.reply.status).toBe(202);
    expect(asFallback.ms).toBeLessThan(BOUND_MS);
    expect(asFallback.reply.body.routing.candidates[1]).toMatchObject({ provider: 'openai', eligible: false, reason: 'provider_disabled' });

    const batch = await api.post('/v1/batches', {
      requests: [
        { custom_id: 'crafted', body: { model: `openai/${CRAFTED}`, messages: userMessage('x') } },
        { custom_id: 'fine', body: { model: 'default', messages: userMessage('y') } },
      ],
    });
    expect(batch.status).toBe(200);
    const done = await eventually(async () => {
      const reply = await api.get(`/v1/batches/${batch.body.id}`);
      return reply.body.status === 'completed' ? reply.body : undefined;
    }, 10_000, 'batch completed');
    expect(done.request_counts).toEqual({ total: 2, completed: 1, failed: 1 });
  });

  it('a fallback entry is bounded like model', async () => {
    const reply = await client(gateway.url).post('/v1/jobs', { model: 'default', fallbacks: [`mock/${'x'.repeat(300)}`], messages: userMessage('x') });
    expect(reply.status).toBe(400);
    expect(reply.body.error.param).toBe('fallbacks.0');
  });

  it('JSON nested 400,000 deep, or a tool nested 100,000 deep, is a 400, and another tenant is answered meanwhile', async () => {
    const api = client(gateway.url);
    const deep = `${'['.repeat(400_000)}${']'.repeat(400_000)}`;
    const other = client(gateway.url, KEYS.globex);
    const [array, models] = await Promise.all([api.post('/v1/jobs', deep), timed(() => other.get('/v1/models'))]);
    expect(array.status).toBe(400);
    expect(array.body.error).toMatchObject({ code: 'json_too_deep', type: 'invalid_request_error' });
    expect(array.body.error.message).toContain('server.max_json_depth');
    expect(models.reply.status).toBe(200);
    expect(models.ms).toBeLessThan(500);

    let schema = '{"type": "string"}';
    for (let level = 0; level < 100_000; level += 1) schema = `{"p": ${schema}}`;
    const tool = `{"model": "default", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function", "function": {"name": "f", "parameters": ${schema}}}]}`;
    const nested = await api.post('/v1/jobs', tool);
    expect(nested.status).toBe(400);
    expect(nested.body.error.code).toBe('json_too_deep');

    // Legitimately nested tools (a few levels) still pass.
    const shallow = await api.post('/v1/jobs', {
      model: 'default', messages: userMessage('x'),
      tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: { a: { type: 'object', properties: { b: { type: 'array', items: { type: 'string' } } } } } } } }],
    });
    expect(shallow.status).toBe(202);
  });
});
