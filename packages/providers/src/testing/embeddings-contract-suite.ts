import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EmbeddingRequest } from '@sluice/shared';
import type { CallOptions, ProviderAdapter } from '../provider-adapter.ts';
import type { ProviderError, ProviderErrorKind } from '../provider-error.ts';
import { failureOf, TRACEPARENT, type ContractFixtures } from './contract-suite.ts';
import { fakeEmbedding, FAKE_EMBEDDING_DIMENSIONS } from './fake-embeddings.ts';
import { startFakeProvider, type FakeProviderServer, type RecordedRequest } from './fake-provider-server.ts';

export interface EmbeddingsContractSpec {
  /** The adapter's wire format, which the fake server speaks. */
  format: 'openai' | 'gemini';
  /** Builds the adapter under test against the fake's base URL, with the API key `sk-contract`. */
  createAdapter(baseUrl: string, timeoutMs: number): ProviderAdapter;
  /** The format's recorded error replies (the adapter folder's `__fixtures__/errors.json`). */
  errors: ContractFixtures['errors'];
  /** The path embeddings are posted to, for a model named `m`. */
  embeddingsPath: string;
  /** How the request asks for shorter vectors (`dimensions`, `outputDimensionality`), read from the body sent. */
  dimensionsSent(body: unknown): unknown;
  /** The usage the fake's answer to three inputs comes to, and whether it is Sluice's estimate. */
  usageOfThree: { prompt_tokens: number; total_tokens: number; estimated: boolean };
  expectAuthenticated(request: RecordedRequest): void;
}

const THREE: EmbeddingRequest = { model: 'm', input: ['alpha', 'beta', 'gamma delta'] };

/** Runs `test` with a fresh fake of `format` and an adapter on it, and closes both after. */
export async function withFakeProvider(format: 'openai' | 'gemini', createAdapter: (baseUrl: string) => ProviderAdapter, test: (fake: FakeProviderServer, adapter: ProviderAdapter) => Promise<void>): Promise<void> {
  const fake = await startFakeProvider(format);
  const adapter = createAdapter(fake.url);
  try {
    await test(fake, adapter);
  } finally {
    await adapter.close();
    await fake.close();
  }
}

/**
 * The contract every adapter's `embed` keeps: vectors in input order equal to what the provider
 * sent, `dimensions` passed on, usage reported or estimated (and said to be), one HTTP attempt, and
 * failures classified as `complete` classifies them.
 */
export function embeddingsContract(name: string, spec: EmbeddingsContractSpec): void {
  describe(`${name} embeddings contract`, () => {
    let fake: FakeProviderServer;
    let adapter: ProviderAdapter;
    const embed = (request: EmbeddingRequest, call: AbortSignal | CallOptions = {}) => {
      if (adapter.embed === undefined) throw new Error(`${name} has no embed`);
      return adapter.embed(request, call instanceof AbortSignal ? { signal: call } : call);
    };
    const expectKind = async (scripted: ContractFixtures['errors'][keyof ContractFixtures['errors']], kind: ProviderErrorKind): Promise<ProviderError> => {
      fake.script({ status: scripted.status, body: scripted.body, headers: scripted.headers ?? {} });
      const before = fake.requests.length;
      const error = await failureOf(embed(THREE));
      expect(error.kind).toBe(kind);
      expect(error.status).toBe(scripted.status);
      expect(fake.requests.length - before).toBe(1); // one attempt: the worker owns retries
      return error;
    };

    beforeAll(async () => {
      fake = await startFakeProvider(spec.format);
      adapter = spec.createAdapter(fake.url, 400);
    });
    afterAll(async () => {
      await adapter.close();
      await fake.close();
    });

    it('a vector per input, in input order, equal to what the provider sent', async () => {
      const result = await embed(THREE);
      expect(result.statusCode).toBe(200);
      expect(result.vectors).toEqual(THREE.input.map((text) => fakeEmbedding(text as string)));
      expect(result.vectors[0]).toHaveLength(FAKE_EMBEDDING_DIMENSIONS);
      expect(result.model).toBe('m');
      const seen = fake.requests.at(-1) as RecordedRequest;
      expect(seen.method).toBe('POST');
      expect(seen.path).toBe(spec.embeddingsPath);
      spec.expectAuthenticated(seen);
    });

    it('sends the call\'s headers (the trace context)', async () => {
      await embed(THREE, { headers: { traceparent: TRACEPARENT } });
      expect(fake.requests.at(-1)?.headers.traceparent).toBe(TRACEPARENT);
      spec.expectAuthenticated(fake.requests.at(-1) as RecordedRequest);
    });

    it('usage as the provider reports it, or estimated and said to be', async () => {
      const { usage, usageEstimated } = await embed(THREE);
      const { estimated, ...tokens } = spec.usageOfThree;
      expect(usage).toEqual(tokens);
      expect(usageEstimated).toBe(estimated);
    });

    it('dimensions go to the provider, and the vectors come back that long', async () => {
      const result = await embed({ ...THREE, dimensions: 4 });
      expect(result.vectors.every((vector) => vector.length === 4)).toBe(true);
      expect(spec.dimensionsSent(fake.requests.at(-1)?.body)).toBe(4);
      await embed(THREE);
      expect(spec.dimensionsSent(fake.requests.at(-1)?.body)).toBeUndefined();
    });

    it('400 is fatal', async () => {
      expect((await expectKind(spec.errors.bad_request, 'fatal')).retryable).toBe(false);
    });
    it('401 is an auth error', async () => {
      await expectKind(spec.errors.auth, 'auth');
    });
    it('429 is rate_limited and carries retry-after', async () => {
      expect((await expectKind(spec.errors.rate_limited, 'rate_limited')).retryAfterMs).toBe(2000);
    });
    it('500 is retryable', async () => {
      expect((await expectKind(spec.errors.server_error, 'retryable')).retryable).toBe(true);
    });
    it('a malformed body, or a vector count that is not the input count, is retryable', async () => {
      fake.script({ body: '{"data": [' });
      expect((await failureOf(embed(THREE))).kind).toBe('retryable');
      fake.setReply(() => ({}));
      const one = await embed({ model: 'm', input: ['only'] });
      fake.script({ body: spec.format === 'openai' ? { object: 'list', data: [{ object: 'embedding', index: 0, embedding: one.vectors[0] }], model: 'm' } : { embeddings: [{ values: one.vectors[0] }] } });
      const error = await failureOf(embed(THREE));
      expect(error.kind).toBe('retryable');
      expect(error.message).toMatch(/malformed response: 1 embeddings for 3 inputs/);
    });
    it('timeout: the request is aborted and the error is retryable', async () => {
      fake.script({ hang: true });
      const error = await failureOf(embed(THREE));
      expect(error.kind).toBe('timeout');
      expect((await fake.waitForAbort()).aborted).toBe(true);
    });
    it('abort: a canceled call stops at once and is not retryable', async () => {
      fake.script({ hang: true });
      const posted = fake.requests.filter((request) => request.method === 'POST').length;
      const controller = new AbortController();
      const call = embed(THREE, controller.signal);
      await fake.waitForRequests(posted + 1);
      controller.abort();
      const error = await failureOf(call);
      expect(error.kind).toBe('canceled');
      expect(error.retryable).toBe(false);
    });
  });
}
