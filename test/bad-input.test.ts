import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

describe('bad input gets a 4xx that names the problem, and the gateway stays up', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({ server: { host: '127.0.0.1', port: 0, body_limit: '16kb' }, providers: { mock: { type: 'mock', latency_ms: 1 } }, routes: { default: ['mock/echo'] } }),
    );
  });
  afterAll(async () => {
    // After everything below, a good request still works end to end.
    const api = client(gateway.url);
    const ok = await api.post('/v1/jobs', { model: 'default', messages: userMessage('still alive') });
    expect(ok.status).toBe(202);
    expect((await api.waitForJob(ok.body.id)).status).toBe('succeeded');
    expect((await fetch(`${gateway.url}/healthz`)).status).toBe(200);
    await gateway.close();
  });

  const expectError = (reply: { status: number; body: any }, status: number, code: string, param?: string | null) => {
    expect(reply.status).toBe(status);
    expect(reply.body.error).toMatchObject({ code, type: expect.any(String), message: expect.any(String) });
    if (param !== undefined) expect(reply.body.error.param).toBe(param);
    expect(JSON.stringify(reply.body)).not.toMatch(/at .*\.ts:\d+|node_modules/); // no stack traces
  };

  it('malformed JSON → 400 invalid_json', async () => {
    const reply = await client(gateway.url).post('/v1/jobs', '{"model": "default", "messages": [');
    expectError(reply, 400, 'invalid_json');
    expect(reply.body.error.message).toMatch(/Malformed JSON/);
  });

  it('missing messages → 400 naming messages', async () => {
    const reply = await client(gateway.url).post('/v1/jobs', { model: 'default' });
    expectError(reply, 400, 'invalid_request', 'messages');
    expect(reply.body.error.message).toContain('messages: required');
  });

  it('wrong types → 400 naming every field', async () => {
    const reply = await client(gateway.url).post('/v1/jobs', { model: 7, messages: [{ role: 'robot', content: 'x' }], max_tokens: 'many', priority: 'urgent', temperature: 9 });
    expectError(reply, 400, 'invalid_request', 'model');
    const params = reply.body.error.issues.map((issue: { param: string }) => issue.param);
    expect(params).toEqual(expect.arrayContaining(['model', 'messages.0.role', 'max_tokens', 'priority', 'temperature']));
    for (const param of ['model', 'messages.0.role', 'max_tokens', 'priority', 'temperature']) expect(reply.body.error.message).toContain(param);
  });

  it('a body that is not an object, or not JSON at all', async () => {
    expectError(await client(gateway.url).post('/v1/jobs', '[1,2]'), 400, 'invalid_request');
    const plain = await fetch(`${gateway.url}/v1/jobs`, { method: 'POST', headers: { authorization: `Bearer ${KEYS.acme}`, 'content-type': 'text/plain' }, body: 'hello' });
    expectError({ status: plain.status, body: await plain.json() }, 415, 'unsupported_media_type');
  });

  it('stream and stream_options of the wrong type, or stream_options without stream, are refused naming them', async () => {
    const api = client(gateway.url);
    expectError(await api.post('/v1/jobs', { model: 'default', messages: userMessage('x'), stream: 'yes' }), 400, 'invalid_request', 'stream');
    expectError(await api.post('/v1/chat/completions', { model: 'default', messages: userMessage('x'), stream: true, stream_options: { include_usage: 1 } }), 400, 'invalid_request', 'stream_options.include_usage');
    expectError(await api.post('/v1/chat/completions', { model: 'default', messages: userMessage('x'), stream: true, stream_options: { extra: true } }), 400, 'invalid_request', 'stream_options');
    const without = await api.post('/v1/jobs', { model: 'default', messages: userMessage('x'), stream_options: { include_usage: true } });
    expectError(without, 400, 'invalid_request', 'stream_options');
    expect(without.body.error.message).toContain('stream');
  });

  it('unknown route → 400 model_not_found naming the routes', async () => {
    const reply = await client(gateway.url).post('/v1/jobs', { model: 'gpt-9', messages: userMessage('x') });
    expectError(reply, 400, 'model_not_found', 'model');
    expect(reply.body.error.message).toContain('default');
    expectError(await client(gateway.url).post('/v1/jobs', { model: 'nope/x', messages: userMessage('x') }), 400, 'model_not_found', 'model');
  });

  it('body over the limit → 413', async () => {
    const reply = await client(gateway.url).post('/v1/jobs', { model: 'default', messages: userMessage('x'.repeat(20_000)) });
    expectError(reply, 413, 'body_too_large');
  });

  it('missing or unknown key → 401; Basic with an unknown password → 401', async () => {
    expectError(await client(gateway.url, null).post('/v1/jobs', { model: 'default', messages: userMessage('x') }), 401, 'missing_api_key');
    expectError(await client(gateway.url, 'sk-wrong').get('/v1/jobs'), 401, 'invalid_api_key');
    expectError(await client(gateway.url, null).get('/v1/jobs', { authorization: 'Bearer ' }), 401, 'invalid_api_key');
    expectError(await client(gateway.url, null).get('/v1/jobs', { authorization: `Basic ${Buffer.from('x:nope').toString('base64')}` }), 401, 'invalid_api_key');
    const basic = await client(gateway.url, null).get('/v1/jobs', { authorization: `Basic ${Buffer.from(`x:${KEYS.acme}`).toString('base64')}` });
    expect(basic.status).toBe(200);
  });

  it('another tenant’s id and unknown ids → 404', async () => {
    const acme = client(gateway.url);
    const submitted = await acme.post('/v1/jobs', { model: 'default', messages: userMessage('private') });
    expect(submitted.status).toBe(202);
    const globex = client(gateway.url, KEYS.globex);
    expectError(await globex.get(`/v1/jobs/${submitted.body.id}`), 404, 'job_not_found', 'id');
    expectError(await acme.get('/v1/jobs/job_AAAAAAAAAAAAAAAAAAAAAA'), 404, 'job_not_found', 'id');
    expectError(await acme.get('/v1/jobs/not-an-id'), 404, 'job_not_found', 'id');
    expectError(await acme.get('/v1/nothing-here'), 404, 'route_not_found');
  });

  it('a broken percent-escape in a path → 400, never a 500', async () => {
    const api = client(gateway.url);
    for (const path of ['/v1/jobs/%ZZ', '/v1/jobs/%ZZ/events', '/v1/jobs/%E0%A4%A/cancel', '/v1/files/%ZZ', '/v1/files/%ZZ/content', '/v1/batches/%ZZ']) {
      expectError(await api.get(path), 400, 'invalid_url');
    }
    expectError(await api.send('DELETE', '/v1/files/%ZZ'), 400, 'invalid_url');
  });

  it('bad list queries → 400 naming the parameter', async () => {
    const api = client(gateway.url);
    expectError(await api.get('/v1/jobs?limit=1000'), 400, 'invalid_request', 'limit');
    expectError(await api.get('/v1/jobs?status=done'), 400, 'invalid_request', 'status');
    expectError(await api.get('/v1/jobs?after=zzz'), 400, 'invalid_request', 'after');
    expectError(await api.get('/v1/jobs?color=red'), 400, 'invalid_request');
  });

  it('webhook URLs and metadata are checked', async () => {
    const api = client(gateway.url);
    expectError(await api.post('/v1/jobs', { model: 'default', messages: userMessage('x'), webhook: { url: 'ftp://example.com' } }), 400, 'invalid_request', 'webhook.url');
    const tooMany = Object.fromEntries(Array.from({ length: 17 }, (_, index) => [`k${index}`, 'v']));
    expectError(await api.post('/v1/jobs', { model: 'default', messages: userMessage('x'), metadata: tooMany }), 400, 'invalid_request', 'metadata');
    expectError(await api.post('/v1/batches', { requests: [{ custom_id: 'a', body: { model: 'default', messages: userMessage('x') } }], metadata: tooMany }), 400, 'invalid_request', 'metadata');
    const longUrl = `https://example.com/${'a'.repeat(2100)}`;
    expectError(await api.post('/v1/jobs', { model: 'default', messages: userMessage('x'), webhook: { url: longUrl } }), 400, 'invalid_request', 'webhook.url');
    expectError(await api.post('/v1/batches', { requests: [{ custom_id: 'a', body: { model: 'default', messages: userMessage('x') } }], webhook: { url: longUrl } }), 400, 'invalid_request', 'webhook.url');
  });
});
