import { afterEach, describe, expect, it } from 'vitest';
import OpenAI, { toFile } from 'openai';
import { startFakeProvider, type FakeProviderServer, type WireFormat } from '@sluice/providers/testing';
import type { JobObject } from '@sluice/engine';
import { client, eventually, KEYS, makeConfig, startGateway, userMessage, type Gateway } from './harness/gateway.ts';

const HOUR = 3600;
const TYPES: Record<WireFormat, string> = { openai: 'openai', anthropic: 'anthropic', gemini: 'gemini' };
const MODELS: Record<WireFormat, string> = { openai: 'gpt-4o-mini', anthropic: 'claude-3-5-haiku-20241022', gemini: 'gemini-2.0-flash' };

/** Chat calls a fake answered (its batch endpoints excluded). */
const chatCalls = (fake: FakeProviderServer): number =>
  fake.requests.filter((request) => request.method === 'POST' && /chat\/completions$|\/v1\/messages$|:generateContent$/.test(request.path)).length;

describe('work that can wait goes to the providers\' batch APIs', () => {
  const fakes: FakeProviderServer[] = [];
  let gateway: Gateway | undefined;
  afterEach(async () => {
    await gateway?.close();
    gateway = undefined;
    await Promise.all(fakes.splice(0).map((fake) => fake.close()));
  });

  const start = async (formats: readonly WireFormat[], batch: Record<string, unknown> = {}) => {
    const servers = await Promise.all(formats.map((format) => startFakeProvider(format)));
    fakes.push(...servers);
    const providers = Object.fromEntries(
      formats.map((format, index) => [
        format,
        {
          type: TYPES[format], base_url: servers[index]?.url, api_key: 'test-key', timeout_ms: 2_000,
          batch: { enabled: true, max_wait_s: 0.3, poll_interval_s: 0.2, min_lead_s: HOUR, fallback_before_s: 600, ...batch },
        },
      ]),
    );
    const routes = Object.fromEntries(formats.map((format) => [format, [`${format}/${MODELS[format]}`]]));
    gateway = await startGateway(makeConfig({ providers, routes, jobs: { sweep_interval_ms: 100 } } as never));
    return { servers, api: client(gateway.url) };
  };

  const submit = async (api: ReturnType<typeof client>, model: string, count: number, extra: Record<string, unknown> = {}): Promise<string[]> =>
    Promise.all(
      Array.from({ length: count }, async (_, index) => {
        const reply = await api.post('/v1/jobs', { model, tier: 'economy', deadline_s: 48 * HOUR, messages: userMessage(`deferred ${index}`), ...extra });
        expect(reply.status, JSON.stringify(reply.body)).toBe(202);
        return reply.body.id as string;
      }),
    );

  it('economy jobs of three tenants on each batch-capable provider run as provider batches at the batch price', async () => {
    const formats: WireFormat[] = ['openai', 'anthropic', 'gemini'];
    const { servers } = await start(formats);
    const tenants = [client(gateway!.url, KEYS.acme), client(gateway!.url, KEYS.globex), client(gateway!.url, KEYS.admin)];
    const ids: string[] = [];
    const owner = new Map<string, ReturnType<typeof client>>();
    for (let start = 0; start < 1000; start += 100) {
      const chunk = Array.from({ length: 100 }, (_, offset) => start + offset);
      ids.push(
        ...(await Promise.all(
          chunk.map(async (index) => {
            const tenant = tenants[Math.floor(index / 3) % 3]!;
            const reply = await tenant.post('/v1/jobs', { model: formats[index % 3], tier: 'economy', deadline_s: 48 * HOUR, messages: userMessage(`deferred ${index}`) });
            expect(reply.status, JSON.stringify(reply.body)).toBe(202);
            owner.set(reply.body.id as string, tenant);
            return reply.body.id as string;
          }),
        )),
      );
    }
    expect(ids).toHaveLength(1000);
    // One long-poll at a time: a thousand clients polling would be the heaviest load on the gateway.
    const jobs: JobObject[] = [];
    for (const id of ids) jobs.push((await owner.get(id)!.get(`/v1/jobs/${id}?wait=60`)).body as JobObject);
    expect(jobs.filter((job) => job.status !== 'succeeded').map((job) => [job.id, job.status, job.error])).toEqual([]);
    for (const server of servers) {
      expect(chatCalls(server)).toBe(0);
      expect(server.batches.all.length).toBeGreaterThan(0);
    }
    let saved = 0;
    for (const job of jobs as JobObject[]) {
      expect(job.execution).toMatchObject({ mode: 'provider_batch', fallback_reason: null });
      expect(job.execution.provider_batch_id).toEqual(expect.any(String));
      expect(job.cost_details).toMatchObject({ discount: 'batch' });
      const usage = job.usage!;
      const list = (usage.prompt_tokens * job.cost_details!.input_usd_per_1m! + usage.completion_tokens * job.cost_details!.output_usd_per_1m!) / 1e6;
      expect(job.cost_usd).toBeCloseTo(list / 2, 12);
      expect(job.cost_details!.saved_usd).toBeCloseTo(list / 2, 12);
      saved += job.cost_details!.saved_usd!;
    }
    const usage = await client(gateway!.url, KEYS.admin).get('/v1/usage?group_by=provider');
    const reported = (usage.body.data as { saved_usd: number }[]).reduce((sum, row) => sum + row.saved_usd, 0);
    expect(reported).toBeCloseTo(saved, 9);
  }, 120_000);

  it('a failed line takes the job\'s failure path in real time; an expired batch sends its unfinished jobs to real time', async () => {
    const { servers, api } = await start(['openai'], { max_wait_s: 1 });
    const [fake] = servers;
    const ids = await submit(api, 'openai', 4);
    const [fatal, retried] = ids as [string, string, string, string];
    fake!.batches.script({ lineErrors: { [fatal]: { status: 400 }, [retried]: { status: 500 } } });
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 20_000)));
    const byId = new Map(jobs.map((job) => [job.id, job]));
    expect(byId.get(fatal)).toMatchObject({ status: 'failed', execution: { fallback_reason: 'line_error' } });
    expect(byId.get(retried)).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime', fallback_reason: 'line_error' }, cost_details: { discount: null } });
    for (const id of ids.slice(2)) expect(byId.get(id)).toMatchObject({ status: 'succeeded', execution: { mode: 'provider_batch' } });
    expect(chatCalls(fake!)).toBe(1);

    fake!.batches.script({ outcome: 'expired', finishedLines: 1 });
    const more = await submit(api, 'openai', 3);
    const ended = await Promise.all(more.map((id) => api.waitForJob(id, undefined, 20_000)));
    expect(ended.map((job) => job.status)).toEqual(['succeeded', 'succeeded', 'succeeded']);
    expect(ended.filter((job) => job.execution.mode === 'provider_batch')).toHaveLength(1);
    expect(ended.filter((job) => job.execution.fallback_reason === 'batch_expired')).toHaveLength(2);
  }, 60_000);

  it('a batch that fails as a whole runs its jobs in real time; a job with a 30-minute deadline is never deferred', async () => {
    const { servers, api } = await start(['openai']);
    const [fake] = servers;
    fake!.batches.script({ outcome: 'failed', failure: 'token_limit_exceeded' });
    const ids = await submit(api, 'openai', 3);
    const jobs = await Promise.all(ids.map((id) => api.waitForJob(id, undefined, 20_000)));
    for (const job of jobs) expect(job).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime', fallback_reason: 'batch_failed' } });

    // The provider refuses the submission itself (here its file upload): the jobs run in real time at once.
    fake!.script({ status: 400, body: { error: { message: 'invalid file', type: 'invalid_request_error' } } });
    const refused = await submit(api, 'openai', 2);
    for (const id of refused) expect(await api.waitForJob(id, undefined, 20_000)).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime', fallback_reason: 'batch_failed' } });

    const [urgent] = await submit(api, 'openai', 1, { deadline_s: 1800 });
    const job = await api.waitForJob(urgent!, undefined, 10_000);
    expect(job).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime', provider_batch_id: null, fallback_reason: null } });
    expect(chatCalls(fake!)).toBe(6);
  }, 60_000);

  it('fallback_before_s before its deadline a job still in a provider batch runs in real time; its late result counts as wasted', async () => {
    const { servers, api } = await start(['openai'], { fallback_before_s: HOUR - 3 });
    const [fake] = servers;
    fake!.batches.script({ delayMs: 6_000 });
    // Two jobs in one provider batch: the first's deadline comes close before the batch ends, the second's does not.
    const [near, far] = await Promise.all([submit(api, 'openai', 1, { deadline_s: HOUR + 1 }), submit(api, 'openai', 1)]);
    const taken = await api.waitForJob(near![0]!, undefined, 20_000);
    expect(taken).toMatchObject({ status: 'succeeded', execution: { mode: 'realtime', fallback_reason: 'deadline' } });
    expect(taken.execution.provider_batch_id).toEqual(expect.any(String));
    const stayed = await api.waitForJob(far![0]!, undefined, 20_000);
    expect(stayed).toMatchObject({ status: 'succeeded', execution: { mode: 'provider_batch', provider_batch_id: taken.execution.provider_batch_id } });
    expect(fake!.batches.all).toHaveLength(1);
    const wasted = await eventually(async () => {
      const reply = await api.get('/v1/usage');
      const sum = (reply.body.data as { wasted_usd: number }[]).reduce((total, row) => total + row.wasted_usd, 0);
      return sum > 0 ? sum : undefined;
    }, 20_000, 'the late result counted as wasted');
    expect(wasted).toBeCloseTo(stayed.cost_usd!, 12);
  }, 60_000);

  it('canceling a job in a provider batch cancels it at once, and the provider batch once all its jobs are', async () => {
    const { servers, api } = await start(['openai']);
    const [fake] = servers;
    fake!.batches.script({ pollsUntilDone: 1_000 });
    const ids = await submit(api, 'openai', 2);
    await eventually(() => fake!.batches.all.length === 1, 10_000, 'the provider batch submitted');
    await Promise.all(ids.map((id) => api.waitForJob(id, (job) => job.status === 'running', 10_000)));
    // The jobs show running a moment before the batch is marked submitted (so a crash between the two
    // is found again), and the gauge is set at the end of the batcher's tick.
    const batches = await eventually(async () => {
      const view = (await api.get('/v1/providers')).body.data[0].provider_batches;
      return view.open[0]?.state === 'submitted' ? view : undefined;
    }, 5_000, 'the provider batch marked submitted');
    expect(batches).toMatchObject({ enabled: true, deferred_jobs: 0, open: [{ id: fake!.batches.all[0]!.id, state: 'submitted', jobs: 2 }] });
    await eventually(async () => /sluice_provider_batches\{provider="openai",state="submitted"\} 1/.test((await client(gateway!.url, KEYS.admin).get('/metrics')).body as string), 5_000, 'the provider batch gauge');
    for (const id of ids) {
      const reply = await api.post(`/v1/jobs/${id}/cancel`);
      expect(reply.body.status).toBe('canceled');
    }
    await eventually(() => ['canceling', 'canceled'].includes(fake!.batches.all[0]?.state ?? ''), 10_000, 'the provider batch canceled');
  }, 30_000);

  it('a /v1/batches upload of 2,000 lines becomes provider batches, with nothing changed on the client side', async () => {
    const { servers } = await start(['openai'], { max_requests: 1_000 });
    const [fake] = servers;
    const openai = new OpenAI({ baseURL: `${gateway!.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
    const lines = Array.from({ length: 2_000 }, (_, index) => JSON.stringify({ custom_id: `q${index}`, method: 'POST', url: '/v1/chat/completions', body: { model: 'openai', messages: userMessage(`line ${index}`) } }));
    // One line asks for a faster tier: it opts out of the provider batch and runs in real time.
    lines[0] = JSON.stringify({ custom_id: 'q0', method: 'POST', url: '/v1/chat/completions', body: { model: 'openai', tier: 'standard', messages: userMessage('line 0') } });
    const file = await openai.files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'requests.jsonl'), purpose: 'batch' });
    let batch = await openai.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const deadline = Date.now() + 90_000;
    while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      batch = await openai.batches.retrieve(batch.id);
    }
    expect(batch.status).toBe('completed');
    expect(batch.request_counts).toMatchObject({ total: 2_000, completed: 2_000, failed: 0 });
    const output = (await (await openai.files.content(batch.output_file_id!)).text()).trim().split('\n');
    expect(new Set(output.map((line) => JSON.parse(line).custom_id))).toEqual(new Set(Array.from({ length: 2_000 }, (_, index) => `q${index}`)));
    expect(fake!.batches.all.reduce((sum, submitted) => sum + submitted.lines.length, 0)).toBe(1_999);
    expect(fake!.batches.all.every((submitted) => submitted.lines.length <= 1_000)).toBe(true);
    expect(chatCalls(fake!)).toBe(1);
  }, 120_000);
});
