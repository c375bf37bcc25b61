import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { lastUserText, startFakeOpenAI, type FakeOpenAIServer } from '@sluice/providers/testing';
import { KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';

describe('the official openai npm package against Sluice, unchanged', () => {
  let fake: FakeOpenAIServer;
  let gateway: Gateway;
  let openai: OpenAI;
  beforeAll(async () => {
    fake = await startFakeOpenAI((request) =>
      lastUserText(request).includes('please fail') ? { status: 400, body: { error: { message: 'Invalid prompt: refused by the fake', type: 'invalid_request_error' } } } : {},
    );
    gateway = await startGateway(
      makeConfig({
        providers: { fake: { type: 'openai-compatible', base_url: fake.url, concurrency: 8 } },
        routes: { default: ['fake/gpt-4o-mini'] },
        pricing: { 'fake/gpt-4o-mini': { input: 0.15, output: 0.6 } },
      }),
    );
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  it('chat.completions.create and models.list', async () => {
    const completion = await openai.chat.completions.create({ model: 'default', messages: [{ role: 'user', content: 'Hello SDK' }] });
    expect(completion.object).toBe('chat.completion');
    expect(completion.choices[0]?.message.content).toBe('fake: Hello SDK');
    expect(completion.usage?.total_tokens).toBe(21);
    const models = [];
    for await (const model of openai.models.list()) models.push(model.id);
    expect(models).toEqual(expect.arrayContaining(['default', 'fake/gpt-4o-mini']));
  });

  it('SDK errors parse: a bad request raises BadRequestError with the param', async () => {
    const error = await openai.chat.completions.create({ model: 'no-such-route', messages: [{ role: 'user', content: 'x' }] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('model');
  });

  it('files.create + batches.create + batches.retrieve until completed + files.content, lines matched by custom_id', async () => {
    const requests = [
      { custom_id: 'alpha', body: { model: 'default', messages: [{ role: 'user', content: 'first' }] } },
      { custom_id: 'beta', body: { model: 'default', messages: [{ role: 'user', content: 'please fail' }] } },
      { custom_id: 'gamma', body: { model: 'default', messages: [{ role: 'user', content: 'third' }], max_tokens: 5 } },
      { custom_id: 'delta', body: { model: 'no-such-route', messages: [{ role: 'user', content: 'unroutable' }] } },
    ];
    const jsonl = requests.map((request) => JSON.stringify({ ...request, method: 'POST', url: '/v1/chat/completions' })).join('\n');
    const file = await openai.files.create({ file: await toFile(Buffer.from(jsonl), 'requests.jsonl'), purpose: 'batch' });
    expect(file).toMatchObject({ object: 'file', purpose: 'batch', bytes: Buffer.byteLength(jsonl) });
    expect((await openai.files.retrieve(file.id)).id).toBe(file.id);

    let batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'sdk' } });
    expect(batch).toMatchObject({ object: 'batch', input_file_id: file.id, completion_window: '24h', metadata: { run: 'sdk' } });
    const deadline = Date.now() + 20_000;
    while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
      if (Date.now() > deadline) throw new Error(`batch still ${batch.status}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      batch = await openai.batches.retrieve(batch.id);
    }
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: 4, completed: 2, failed: 2 });

    const output = await (await openai.files.content(batch.output_file_id!)).text();
    const byId = new Map(output.trim().split('\n').map((line) => [JSON.parse(line).custom_id as string, JSON.parse(line)]));
    expect([...byId.keys()].sort()).toEqual(['alpha', 'gamma']);
    expect(byId.get('alpha')).toMatchObject({ response: { status_code: 200, body: { object: 'chat.completion', choices: [{ message: { content: 'fake: first' } }] } }, error: null });
    expect(byId.get('gamma').response.body.choices[0].message.content).toBe('fake: third');

    const errors = await (await openai.files.content(batch.error_file_id!)).text();
    const failed = new Map(errors.trim().split('\n').map((line) => [JSON.parse(line).custom_id as string, JSON.parse(line)]));
    expect([...failed.keys()].sort()).toEqual(['beta', 'delta']);
    expect(failed.get('beta')).toMatchObject({ response: null, error: { code: 'provider_fatal', message: expect.stringContaining('refused by the fake') } });
    expect(failed.get('delta').error.code).toBe('model_not_found');

    const listed = [];
    for await (const entry of openai.batches.list({ limit: 10 })) listed.push(entry.id);
    expect(listed).toContain(batch.id);
  });
});
