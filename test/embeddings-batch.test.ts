import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { fakeEmbedding, FAKE_EMBEDDING_TOKENS_PER_INPUT, startFakeProvider, type FakeProviderServer } from '@sluice/providers/testing';
import type { JobObject, JobResult } from '@sluice/engine';
import { client, KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';

const LINES = 1_000;

/** The i-th line's inputs: one text on even lines, two on odd ones. */
const inputsOf = (index: number): string[] => (index % 2 === 0 ? [`document ${index}`] : [`document ${index}`, `document ${index}, part two`]);

describe('/v1/embeddings batches through the OpenAI SDK', () => {
  let fake: FakeProviderServer;
  let gateway: Gateway;
  let openai: OpenAI;
  beforeAll(async () => {
    fake = await startFakeProvider('openai');
    gateway = await startGateway(
      makeConfig({
        // The provider's batch API is on: embeddings still run in real time.
        providers: { openai: { type: 'openai', base_url: fake.url, api_key: 'sk-openai', concurrency: 32, batch: { enabled: true, min_lead_s: 0, max_wait_s: 1 } } },
        routes: { emb: ['openai/text-embedding-3-small'] },
      }),
    );
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await fake.close();
  });

  const finished = async (id: string, timeoutMs: number): Promise<OpenAI.Batch> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const batch = await openai.batches.retrieve(id);
      if (['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) return batch;
      if (Date.now() > deadline) throw new Error(`batch ${id} still ${batch.status} (${JSON.stringify(batch.request_counts)})`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  };

  /** Every job of a batch, paged through `GET /v1/jobs`. */
  const jobsOf = async (batchId: string): Promise<JobObject<JobResult>[]> => {
    const api = client(gateway.url);
    const found: JobObject<JobResult>[] = [];
    let after: string | null = null;
    for (;;) {
      const page = await api.get(`/v1/jobs?limit=100${after === null ? '' : `&after=${after}`}`);
      found.push(...(page.body.data as JobObject<JobResult>[]).filter((job) => job.batch_id === batchId));
      if (!page.body.has_more) return found;
      after = page.body.last_id;
    }
  };

  it(`a ${LINES.toLocaleString('en')}-line embeddings batch completes: every line's answer in the output file, cost on every job`, { timeout: 120_000 }, async () => {
    const jsonl = Array.from({ length: LINES }, (_, index) => JSON.stringify({ custom_id: `e-${index}`, method: 'POST', url: '/v1/embeddings', body: { model: 'emb', input: inputsOf(index) } })).join('\n');
    const file = await openai.files.create({ file: await toFile(Buffer.from(jsonl), 'embeddings.jsonl'), purpose: 'batch' });
    const created = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    expect(created).toMatchObject({ object: 'batch', endpoint: '/v1/embeddings' });

    const batch = await finished(created.id, 100_000);
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toEqual({ total: LINES, completed: LINES, failed: 0 });
    expect(batch.error_file_id ?? null).toBeNull();

    const output = (await (await openai.files.content(batch.output_file_id!)).text()).trim().split('\n').map((line) => JSON.parse(line));
    expect(output).toHaveLength(LINES);
    const byId = new Map(output.map((line) => [line.custom_id as string, line]));
    for (const index of [0, 1, 500, 999]) {
      const line = byId.get(`e-${index}`);
      expect(line).toMatchObject({ id: expect.stringMatching(/^batch_req_/), response: { status_code: 200, body: { object: 'list', model: 'text-embedding-3-small' } }, error: null });
      expect(line.response.body.data.map((entry: { embedding: number[] }) => entry.embedding)).toEqual(inputsOf(index).map((text) => fakeEmbedding(text)));
      expect(line.response.body.usage).toEqual({ prompt_tokens: inputsOf(index).length * FAKE_EMBEDDING_TOKENS_PER_INPUT, total_tokens: inputsOf(index).length * FAKE_EMBEDDING_TOKENS_PER_INPUT });
    }

    const jobs = await jobsOf(batch.id);
    expect(jobs).toHaveLength(LINES);
    for (const job of jobs) {
      const tokens = inputsOf(Number(job.custom_id?.slice(2))).length * FAKE_EMBEDDING_TOKENS_PER_INPUT;
      expect(job).toMatchObject({ endpoint: '/v1/embeddings', status: 'succeeded', priority: 'low', execution: { mode: 'realtime' }, usage: { prompt_tokens: tokens, completion_tokens: 0 } });
      expect(job.cost_usd).toBeCloseTo((tokens * 0.02) / 1e6, 15);
    }
    // Real time, one /embeddings call per line: nothing went to the provider's batch API.
    expect(fake.requests.filter((request) => request.path.endsWith('/embeddings'))).toHaveLength(LINES);
    expect(fake.requests.some((request) => /\/(files|batches)/.test(request.path))).toBe(false);
  });

  it('a batch runs one endpoint: a line for another is an error line; a bad embeddings body fails alone, naming the field', async () => {
    const lines = [
      { custom_id: 'good', method: 'POST', url: '/v1/embeddings', body: { model: 'emb', input: 'fine', encoding_format: 'base64' } },
      { custom_id: 'chat', method: 'POST', url: '/v1/chat/completions', body: { model: 'emb', messages: [{ role: 'user', content: 'x' }] } },
      { custom_id: 'empty', method: 'POST', url: '/v1/embeddings', body: { model: 'emb', input: [] } },
      { custom_id: 'extra', method: 'POST', url: '/v1/embeddings', body: { model: 'emb', input: 'x', temperature: 1 } },
    ];
    const file = await openai.files.create({ file: await toFile(Buffer.from(lines.map((line) => JSON.stringify(line)).join('\n')), 'mixed.jsonl'), purpose: 'batch' });
    const batch = await finished((await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' })).id, 20_000);
    expect(batch.request_counts).toEqual({ total: 4, completed: 1, failed: 3 });
    const good = JSON.parse((await (await openai.files.content(batch.output_file_id!)).text()).trim());
    const vector = Buffer.from(good.response.body.data[0].embedding, 'base64');
    expect(Array.from({ length: vector.length / 4 }, (_, index) => vector.readFloatLE(index * 4))).toEqual(fakeEmbedding('fine'));
    const errors = new Map((await (await openai.files.content(batch.error_file_id!)).text()).trim().split('\n').map((line) => [JSON.parse(line).custom_id, JSON.parse(line).error]));
    expect(errors.get('chat')).toEqual({ code: 'invalid_request', message: expect.stringContaining('"/v1/chat/completions" is not this batch\'s endpoint "/v1/embeddings"') });
    expect(errors.get('empty')).toEqual({ code: 'invalid_request', message: expect.stringContaining('input: must not be an empty array') });
    expect(errors.get('extra')).toEqual({ code: 'invalid_request', message: expect.stringMatching(/Unrecognized key: "temperature"/) });
  });

  it('inline requests of an embeddings batch become /v1/embeddings lines', async () => {
    const api = client(gateway.url);
    const created = await api.post('/v1/batches', { endpoint: '/v1/embeddings', requests: [{ custom_id: 'inline-1', body: { model: 'emb', input: ['inline text'] } }] });
    expect(created.status).toBe(200);
    const batch = await finished(created.body.id, 20_000);
    expect(batch.request_counts).toEqual({ total: 1, completed: 1, failed: 0 });
    const line = JSON.parse((await (await openai.files.content(batch.output_file_id!)).text()).trim());
    expect(line.response.body.data[0].embedding).toEqual(fakeEmbedding('inline text'));
  });
});
