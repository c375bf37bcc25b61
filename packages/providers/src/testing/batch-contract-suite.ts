import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatchAdapter, BatchLineResult, BatchRequest, ProviderAdapter } from '../provider-adapter.ts';
import { ProviderError, type ProviderErrorKind } from '../provider-error.ts';
import { TRACEPARENT, type ContractFixtures } from './contract-suite.ts';
import { startFakeProvider, type FakeProviderServer, type RecordedRequest, type WireFormat } from './fake-provider-server.ts';

export interface BatchContractSpec {
  /** The adapter's wire format, which the fake server speaks (chat and batch endpoints both). */
  format: WireFormat;
  /** Builds the adapter under test against the fake's base URL, with the API key `sk-contract`. */
  createAdapter(baseUrl: string, timeoutMs: number): ProviderAdapter;
  /** The folder's error fixtures, as the chat contract uses them. */
  errors: Pick<ContractFixtures['errors'], 'auth' | 'rate_limited' | 'server_error'>;
  /** The chat path (for a model named `m`), which a batch must never call. */
  completionPath: string;
  /** Checks that the key went in the right header and nowhere else. */
  expectAuthenticated(request: RecordedRequest): void;
  /** Whether `find` can tell a batch that is still in progress (Anthropic's only once it ended). */
  findsInProgress: boolean;
  /** Whether results report the lines that never ran, as expired or canceled (Gemini's report none). */
  reportsUnrunLines: boolean;
  /** Whether a batch can fail as a whole (Anthropic's report every line errored instead). */
  failsAsWhole: boolean;
}

const requestsFor = (ids: readonly string[]): BatchRequest[] =>
  ids.map((custom_id) => ({ custom_id, request: { model: 'm', messages: [{ role: 'user', content: `say ${custom_id}` }], params: { max_tokens: 16 } } }));

async function collect(lines: AsyncIterable<BatchLineResult>): Promise<Map<string, BatchLineResult>> {
  const seen = new Map<string, BatchLineResult>();
  for await (const line of lines) {
    expect(seen.has(line.custom_id), `${line.custom_id} reported twice`).toBe(false);
    seen.set(line.custom_id, line);
  }
  return seen;
}

async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const outcome = await promise.then(() => null, (error: unknown) => error);
  expect(outcome).toBeInstanceOf(ProviderError);
  return outcome as ProviderError;
}

const expectSucceeded = (line: BatchLineResult | undefined, text: string): void => {
  expect(line?.outcome).toBe('succeeded');
  if (line?.outcome !== 'succeeded') return;
  expect(line.result.statusCode).toBe(200);
  expect(line.result.completion.object).toBe('chat.completion');
  expect(line.result.completion.choices[0]?.message.content).toBe(`fake: ${text}`);
  expect(line.result.completion.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 });
};

const expectErrored = (line: BatchLineResult | undefined, kind: ProviderErrorKind, status: number): void => {
  expect(line?.outcome).toBe('errored');
  if (line?.outcome === 'errored') expect(line.error).toMatchObject({ kind, status });
};

/** Reads the status until the provider stops working on the batch (a cancel takes a read or two). */
async function settled(batch: BatchAdapter, id: string) {
  for (let read = 0; read < 5; read += 1) {
    const status = await batch.status(id);
    if (status.state !== 'in_progress') return status;
  }
  throw new Error(`batch ${id} still in progress`);
}

/**
 * The contract every batch adapter passes against its vendor's fake batch API: a submission the
 * fake sees as a batch (never as chat calls), `find` by key, progress, one result per line with
 * successes normalized like real-time replies and failures classified like real-time errors,
 * expiry, cancel, whole-batch failure, and every call one classified, abortable HTTP attempt.
 */
export function providerBatchContract(name: string, spec: BatchContractSpec): void {
  describe(`${name} batch adapter contract`, () => {
    let fake: FakeProviderServer;
    let adapter: ProviderAdapter;
    let batch: BatchAdapter;
    let keys = 0;
    const nextKey = (): string => `sluice-contract-${(keys += 1)}`;

    beforeAll(async () => {
      fake = await startFakeProvider(spec.format);
      adapter = spec.createAdapter(fake.url, 400);
      if (adapter.batch === undefined) throw new Error(`${name} has no batch adapter`);
      batch = adapter.batch;
    });
    afterAll(async () => {
      await adapter.close();
      await fake.close();
    });

    it('submit, find, in progress then completed, and each line once: successes normalized, failures classified like real-time calls', async () => {
      const before = fake.requests.length;
      fake.batches.script({
        lineErrors: {
          job_bad: { status: 400, message: 'messages: roles must alternate' },
          job_long: { status: 400, message: 'prompt is too long: 212046 tokens > 200000 maximum' },
          job_boom: { status: 500, message: 'Internal server error' },
        },
      });
      const key = nextKey();
      const ids = ['job_a', 'job_b', 'job_bad', 'job_long', 'job_boom'];
      const id = await batch.submit(key, requestsFor(ids));
      expect(await batch.find(key)).toBe(spec.findsInProgress ? id : null);
      expect(await batch.find('sluice-contract-unknown')).toBeNull();
      expect(await batch.status(id)).toMatchObject({ id, state: 'in_progress', error: null });
      const done = await batch.status(id);
      expect(done).toMatchObject({ id, state: 'completed', error: null });
      expect(done.counts?.total).toBe(ids.length);
      expect(await batch.find(key)).toBe(id);
      const lines = await collect(batch.results(id));
      expect([...lines.keys()].sort()).toEqual([...ids].sort());
      expectSucceeded(lines.get('job_a'), 'say job_a');
      expectSucceeded(lines.get('job_b'), 'say job_b');
      expectErrored(lines.get('job_bad'), 'fatal', 400);
      expectErrored(lines.get('job_long'), 'context_length', 400);
      expectErrored(lines.get('job_boom'), 'retryable', 500);
      const seen = fake.requests.slice(before);
      expect(seen.filter((request) => request.path === spec.completionPath)).toEqual([]);
      expect(fake.batches.all.at(-1)?.lines.map((line) => line.custom_id).length).toBe(ids.length);
      for (const request of seen) spec.expectAuthenticated(request);
    });

    it('submit, status and results send the call\'s headers (the trace context)', async () => {
      const before = fake.requests.length;
      const call = { headers: { traceparent: TRACEPARENT } };
      const id = await batch.submit(nextKey(), requestsFor(['job_a']), call);
      expect(await batch.status(id, call)).toMatchObject({ state: 'in_progress' });
      expect(await batch.status(id, call)).toMatchObject({ state: 'completed' });
      await collect(batch.results(id, call));
      const seen = fake.requests.slice(before);
      expect(seen.length).toBeGreaterThan(2);
      expect(seen.map((request) => request.headers.traceparent)).toEqual(seen.map(() => TRACEPARENT));
    });

    it('results of a batch still in progress: a retryable error, not an empty list', async () => {
      fake.batches.script({ pollsUntilDone: 100 });
      const id = await batch.submit(nextKey(), requestsFor(['job_a']));
      const error = await failureOf(collect(batch.results(id)));
      expect(error).toMatchObject({ kind: 'retryable', code: 'provider_batch_not_finished' });
    });

    it('expiry: the batch is expired, its finished lines succeeded and the rest expired', async () => {
      fake.batches.script({ pollsUntilDone: 0, outcome: 'expired', finishedLines: 1 });
      const id = await batch.submit(nextKey(), requestsFor(['job_a', 'job_b', 'job_c']));
      expect((await batch.status(id)).state).toBe('expired');
      const lines = await collect(batch.results(id));
      if (!spec.reportsUnrunLines) return expect(lines.size).toBe(0);
      expectSucceeded(lines.get('job_a'), 'say job_a');
      expect([lines.get('job_b')?.outcome, lines.get('job_c')?.outcome]).toEqual(['expired', 'expired']);
    });

    it('cancel: the batch ends canceled; lines that ran keep their results, the rest are canceled', async () => {
      fake.batches.script({ pollsUntilDone: 100, finishedLines: 1 });
      const id = await batch.submit(nextKey(), requestsFor(['job_a', 'job_b']));
      await batch.cancel(id);
      expect((await settled(batch, id)).state).toBe('canceled');
      const lines = await collect(batch.results(id));
      expectSucceeded(lines.get('job_a'), 'say job_a');
      expect(lines.get('job_b')?.outcome).toBe(spec.reportsUnrunLines ? 'canceled' : undefined);
    });

    it('whole-batch failure: failed with the provider message (or, where batches cannot fail whole, every line fatal)', async () => {
      const failure = 'Enqueued token limit reached for m';
      fake.batches.script({ pollsUntilDone: 0, outcome: 'failed', failure });
      const id = await batch.submit(nextKey(), requestsFor(['job_a', 'job_b']));
      const status = await batch.status(id);
      const lines = await collect(batch.results(id));
      if (spec.failsAsWhole) {
        expect(status).toMatchObject({ state: 'failed', error: expect.stringContaining(failure) });
        return expect(lines.size).toBe(0);
      }
      expect(status.state).toBe('completed');
      for (const id of ['job_a', 'job_b']) expectErrored(lines.get(id), 'fatal', 400);
    });

    it.each([
      ['auth', 'auth'],
      ['rate_limited', 'rate_limited'],
      ['server_error', 'retryable'],
    ] as const)('a submission answered %s is %s, after one attempt', async (fixture, kind) => {
      const scripted = spec.errors[fixture];
      fake.script({ status: scripted.status, body: scripted.body, headers: scripted.headers ?? {} });
      const before = fake.requests.length;
      const error = await failureOf(batch.submit(nextKey(), requestsFor(['job_a'])));
      expect(error).toMatchObject({ kind, status: scripted.status });
      expect(fake.requests.length - before).toBe(1);
      if (kind === 'rate_limited') expect(error.retryAfterMs).toBe(2000);
      if (kind === 'auth') expect(error.message).toMatch(/withheld/);
      if (scripted.echoes !== undefined) expect(`${error.message}${error.body ?? ''}`).not.toContain(scripted.echoes);
    });

    it('status, find and cancel fail like real-time calls: a 500 is retryable, a hang times out', async () => {
      const id = await batch.submit(nextKey(), requestsFor(['job_a']));
      fake.script({ status: 500, body: spec.errors.server_error.body });
      expect(await failureOf(batch.status(id))).toMatchObject({ kind: 'retryable', status: 500 });
      fake.script({ status: 500, body: spec.errors.server_error.body });
      expect(await failureOf(batch.find(nextKey()))).toMatchObject({ kind: 'retryable', status: 500 });
      fake.script({ hang: true });
      expect(await failureOf(batch.cancel(id))).toMatchObject({ kind: 'timeout', status: null });
    });

    it('abort: a canceled submission stops at once and is not retryable', async () => {
      fake.script({ hang: true });
      const posted = fake.requests.filter((request) => request.method === 'POST').length;
      const controller = new AbortController();
      const call = batch.submit(nextKey(), requestsFor(['job_a']), { signal: controller.signal });
      await fake.waitForRequests(posted + 1);
      controller.abort();
      expect(await failureOf(call)).toMatchObject({ kind: 'canceled', retryable: false });
    });
  });
}
