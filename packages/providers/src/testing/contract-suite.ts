import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChatRequest, Usage } from '@sluice/shared';
import type { ProviderAdapter } from '../provider-adapter.ts';
import { ProviderError, type ProviderErrorKind } from '../provider-error.ts';
import { startFakeProvider, type FakeProviderServer, type RecordedRequest, type WireFormat } from './fake-provider-server.ts';

interface ScriptedError {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Provider text (an echoed key, the provider's own wording) that must not reach the error's message or body. */
  echoes?: string;
}

/** Replies shaped like the provider's documented ones (the adapter folder's `__fixtures__/`). */
export interface ContractFixtures {
  /** A plain reply whose text is "Hello! How can I assist you today?". */
  success: unknown;
  /** A reply calling `get_weather` with `{"city": "Paris"}`. */
  toolCall: unknown;
  /**
   * `auth` is a 401, `forbidden` a 403 about the key (both open the circuit), `refused_request` a
   * 403 about this one request (flagged input, a file or model the key may not use).
   */
  errors: Record<'bad_request' | 'context_length' | 'auth' | 'forbidden' | 'refused_request' | 'rate_limited' | 'server_error' | 'overloaded' | 'error_in_200', ScriptedError>;
}

export interface ContractSpec {
  /** The adapter's wire format, which the fake server speaks. */
  format: WireFormat;
  /** Builds the adapter under test against the fake's base URL, with the API key `sk-contract`. */
  createAdapter(baseUrl: string, timeoutMs: number): ProviderAdapter;
  fixtures: ContractFixtures;
  /** Usage the success fixture must normalize to (details included: what `cost_usd` is priced from). */
  successUsage: Usage;
  /** Checks that the key went in the right header and nowhere else. */
  expectAuthenticated(request: RecordedRequest): void;
  /** The path completions are posted to, for a model named `m`. */
  completionPath: string;
}

const REQUEST: ChatRequest = {
  model: 'm',
  messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'ping' }],
  params: { max_tokens: 64, temperature: 0 },
};

/** A W3C `traceparent`, as the worker sends with each call when tracing is on. */
export const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

const TOOL_REQUEST: ChatRequest = {
  model: 'm',
  messages: [{ role: 'user', content: 'Weather in Paris?' }],
  params: { tools: [{ type: 'function', function: { name: 'get_weather', description: 'Current weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }], tool_choice: 'auto' },
};

/** The ProviderError a call failed with (the test fails when it succeeds or throws anything else). */
export async function failureOf(promise: Promise<unknown>): Promise<ProviderError> {
  const outcome = await promise.then(
    () => null,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ProviderError);
  return outcome as ProviderError;
}

/**
 * The contract every adapter passes (Bull Board's adapter-contract idea): one HTTP attempt per
 * call, a normalized `chat.completion` with usage and tool calls, and every failure mapped to the
 * error kind the worker acts on.
 */
export function providerContract(name: string, spec: ContractSpec): void {
  describe(`${name} adapter contract`, () => {
    let fake: FakeProviderServer;
    let adapter: ProviderAdapter;
    const expectKind = async (scripted: ScriptedError, kind: ProviderErrorKind): Promise<ProviderError> => {
      fake.script({ status: scripted.status, body: scripted.body, headers: scripted.headers ?? {} });
      const before = fake.requests.length;
      const error = await failureOf(adapter.complete(REQUEST));
      expect(error.kind).toBe(kind);
      expect(error.status).toBe(scripted.status);
      expect(fake.requests.length - before).toBe(1); // exactly one attempt: the worker owns retries
      return error;
    };
    /** Auth answers keep their status but not the provider's text, which may echo the key. */
    const expectWithheld = (error: ProviderError, scripted: ScriptedError): void => {
      expect(error.message).toContain(`HTTP ${scripted.status}`);
      expect(error.message).toMatch(/withheld/);
      if (scripted.echoes !== undefined) {
        expect(error.message).not.toContain(scripted.echoes);
        expect(error.body ?? '').not.toContain(scripted.echoes);
      }
    };

    beforeAll(async () => {
      fake = await startFakeProvider(spec.format);
      adapter = spec.createAdapter(fake.url, 400);
    });
    afterAll(async () => {
      await adapter.close();
      await fake.close();
    });

    it('normal reply: a chat.completion with the text, finish reason and usage', async () => {
      fake.script({ body: spec.fixtures.success });
      const { completion, statusCode } = await adapter.complete(REQUEST);
      expect(statusCode).toBe(200);
      expect(completion.object).toBe('chat.completion');
      expect(completion.choices).toHaveLength(1);
      expect(completion.choices[0]?.message).toMatchObject({ role: 'assistant', content: 'Hello! How can I assist you today?' });
      expect(completion.choices[0]?.finish_reason).toBe('stop');
      expect(completion.usage).toMatchObject(spec.successUsage);
      const seen = fake.requests.at(-1);
      expect(seen?.method).toBe('POST');
      expect(seen?.path).toBe(spec.completionPath);
      spec.expectAuthenticated(seen as RecordedRequest);
    });

    it('sends the call\'s headers (the trace context) with its own, the key still where it belongs', async () => {
      fake.script({ body: spec.fixtures.success });
      await adapter.complete(REQUEST, { headers: { traceparent: TRACEPARENT } });
      const seen = fake.requests.at(-1) as RecordedRequest;
      expect(seen.headers.traceparent).toBe(TRACEPARENT);
      spec.expectAuthenticated(seen);
    });

    it('tool call: tool_calls with parsed arguments and finish_reason tool_calls', async () => {
      fake.script({ body: spec.fixtures.toolCall });
      const { completion } = await adapter.complete(TOOL_REQUEST);
      const call = completion.choices[0]?.message.tool_calls?.[0];
      expect(call?.type).toBe('function');
      expect(call?.function.name).toBe('get_weather');
      expect(JSON.parse(call?.function.arguments ?? 'null')).toEqual({ city: 'Paris' });
      expect(typeof call?.id).toBe('string');
      expect(completion.choices[0]?.finish_reason).toBe('tool_calls');
      expect(JSON.stringify(fake.requests.at(-1)?.body)).toContain('get_weather');
    });

    it('400 is fatal', async () => {
      expect((await expectKind(spec.fixtures.errors.bad_request, 'fatal')).retryable).toBe(false);
    });
    it('a context-length 400 is recognised (the worker fails over)', async () => {
      await expectKind(spec.fixtures.errors.context_length, 'context_length');
    });
    it('401 is an auth error (the breaker opens) whose message withholds the provider text, which may echo the key', async () => {
      expectWithheld(await expectKind(spec.fixtures.errors.auth, 'auth'), spec.fixtures.errors.auth);
    });
    it('a 403 about the key is an auth error too, its text withheld', async () => {
      expectWithheld(await expectKind(spec.fixtures.errors.forbidden, 'auth'), spec.fixtures.errors.forbidden);
    });
    it('a 403 about this request is fatal for the job alone, and says why', async () => {
      const error = await expectKind(spec.fixtures.errors.refused_request, 'fatal');
      expect(error.code).toBe('provider_refused_request');
      expect(error.retryable).toBe(false);
      expect(error.message).toMatch(/^\S+: HTTP 403: /);
      expect(error.message).not.toMatch(/withheld/);
    });
    it('the probe treats every 403 as about the key: a listing carries no request to refuse', async () => {
      fake.script({ status: 403, body: spec.fixtures.errors.refused_request.body });
      expect((await failureOf(adapter.probe())).kind).toBe('auth');
    });
    it('429 is rate_limited and carries retry-after', async () => {
      const error = await expectKind(spec.fixtures.errors.rate_limited, 'rate_limited');
      expect(error.retryable).toBe(true);
      expect(error.retryAfterMs).toBe(2000);
    });
    it('500 is retryable', async () => {
      expect((await expectKind(spec.fixtures.errors.server_error, 'retryable')).retryable).toBe(true);
    });
    it('overloaded is retryable', async () => {
      await expectKind(spec.fixtures.errors.overloaded, 'retryable');
    });
    it('a 200 whose body is an error is retryable', async () => {
      const error = await expectKind(spec.fixtures.errors.error_in_200, 'retryable');
      expect(error.message).toMatch(/error in a 200 body/);
    });
    it('a 200 whose body is an auth error is retryable, its text withheld', async () => {
      const auth = spec.fixtures.errors.auth;
      const error = await expectKind({ status: 200, body: auth.body }, 'retryable');
      expect(error.message).toMatch(/error in a 200 body: .*withheld/);
      if (auth.echoes !== undefined) {
        expect(error.message).not.toContain(auth.echoes);
        expect(error.body ?? '').not.toContain(auth.echoes);
      }
    });
    it('a malformed body is retryable', async () => {
      fake.script({ body: '{"id": "x", "choi' });
      expect((await failureOf(adapter.complete(REQUEST))).kind).toBe('retryable');
      fake.script({ body: { unexpected: true } });
      expect((await failureOf(adapter.complete(REQUEST))).message).toMatch(/malformed response/);
    });
    it('timeout: the request is aborted and the error is retryable', async () => {
      fake.script({ hang: true });
      const error = await failureOf(adapter.complete(REQUEST));
      expect(error.kind).toBe('timeout');
      expect(error.retryable).toBe(true);
      expect((await fake.waitForAbort()).aborted).toBe(true);
    });
    it('abort: a canceled call stops at once and is not retryable', async () => {
      fake.script({ hang: true });
      const posted = fake.requests.filter((request) => request.method === 'POST').length;
      const controller = new AbortController();
      const call = adapter.complete(REQUEST, { signal: controller.signal });
      await fake.waitForRequests(posted + 1);
      controller.abort();
      const error = await failureOf(call);
      expect(error.kind).toBe('canceled');
      expect(error.retryable).toBe(false);
    });
    it('probe: a cheap GET that succeeds when the provider answers and fails when it does not', async () => {
      await adapter.probe();
      const probe = fake.requests.at(-1);
      expect(probe?.method).toBe('GET');
      spec.expectAuthenticated(probe as RecordedRequest);
      fake.script({ status: 503, body: {} });
      expect((await failureOf(adapter.probe())).retryable).toBe(true);
    });
  });
}
