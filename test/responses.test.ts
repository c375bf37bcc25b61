import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import type { ResponseStreamEvent } from 'openai/resources/responses/responses';
import { openAIStream, startFakeProvider, type FakeProviderServer, type RecordedRequest } from '@sluice/providers/testing';
import type { JobObject } from '@sluice/engine';
import { client, eventually, KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';
import { startWebhookReceiver, type WebhookReceiver } from './harness/webhook-receiver.ts';

/** The request a fake got whose body mentions `text` (the last one, if several). */
const sentTo = (fake: FakeProviderServer, text: string): RecordedRequest | undefined => [...fake.requests].reverse().find((request) => JSON.stringify(request.body ?? '').includes(text));

async function collect(stream: AsyncIterable<ResponseStreamEvent>): Promise<ResponseStreamEvent[]> {
  const events: ResponseStreamEvent[] = [];
  for await (const event of stream) events.push(event);
  return events;
}

const joinedDeltas = (events: readonly ResponseStreamEvent[]): string =>
  events.map((event) => (event.type === 'response.output_text.delta' ? event.delta : '')).join('');

const WEATHER_TOOL = { type: 'function' as const, name: 'get_weather', description: 'Weather in a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }, strict: false };

/** An Anthropic Messages reply calling `get_weather`. */
const anthropicToolUse = { type: 'message', id: 'msg_tool', role: 'assistant', model: 'claude-3-5-haiku-latest', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } }], stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 20, output_tokens: 10 } };
/** An OpenAI chat.completion calling `get_weather`. */
const openAIToolCall = {
  id: 'chatcmpl-tool', object: 'chat.completion', created: 1, model: 'gpt-4o-mini',
  choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] }, finish_reason: 'tool_calls' }],
  usage: { prompt_tokens: 20, completion_tokens: 10, total_tokens: 30, prompt_tokens_details: { cached_tokens: 8 }, completion_tokens_details: { reasoning_tokens: 3 } },
};

describe('the Responses API through the official openai SDK, on openai and anthropic provider types', () => {
  let openaiFake: FakeProviderServer;
  let anthropicFake: FakeProviderServer;
  let gateway: Gateway;
  let receiver: WebhookReceiver;
  let sdk: OpenAI;
  let other: OpenAI;

  beforeAll(async () => {
    [openaiFake, anthropicFake, receiver] = await Promise.all([startFakeProvider('openai'), startFakeProvider('anthropic'), startWebhookReceiver()]);
    gateway = await startGateway(
      makeConfig({
        providers: {
          openai: { type: 'openai', base_url: openaiFake.url, api_key: 'sk-openai-secret', retry: { attempts: 1 } },
          anthropic: { type: 'anthropic', base_url: anthropicFake.url, api_key: 'sk-ant-secret', retry: { attempts: 1 } },
        },
        routes: { gpt: ['openai/gpt-4o-mini'], claude: ['anthropic/claude-3-5-haiku-latest'], either: ['anthropic/claude-3-5-haiku-latest', 'openai/gpt-4o-mini'] },
        webhooks: { secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', allow_private_networks: true },
      }),
    );
    sdk = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, maxRetries: 0 });
    other = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.globex, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openaiFake.close(), anthropicFake.close(), receiver.close()]);
  });

  for (const [model, fake] of [['gpt', () => openaiFake], ['claude', () => anthropicFake]] as const) {
    it(`${model}: responses.create answers a completed response whose id is the job's, with output_text, usage and the x-sluice headers`, async () => {
      const { data: response, response: http } = await sdk.responses.create({ model, input: `plain ${model}`, instructions: 'Be brief.', metadata: { run: 'plain' } }).withResponse();
      expect(response).toMatchObject({ object: 'response', status: 'completed', model, instructions: 'Be brief.', metadata: { run: 'plain' }, error: null, incomplete_details: null, store: true, background: false });
      expect(response.id).toMatch(/^resp_[A-Za-z0-9_-]{22}$/);
      expect(response.output_text).toBe(`fake: plain ${model}`);
      expect(response.output).toEqual([{ id: `msg_${response.id.slice(5)}_0`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: `fake: plain ${model}`, annotations: [], logprobs: [] }] }]);
      expect(response.usage).toEqual({ input_tokens: 9, input_tokens_details: { cached_tokens: 0 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21 });
      expect(http.headers.get('x-sluice-job-id')).toBe(response.id);
      expect(http.headers.get('x-sluice-provider')).toBe(model === 'gpt' ? 'openai' : 'anthropic');
      expect(Number(http.headers.get('x-sluice-cost-usd'))).toBeGreaterThan(0);
      // The provider got an ordinary chat request in its own format: the instructions as the system prompt.
      const sent = sentTo(fake(), `plain ${model}`)?.body as Record<string, unknown>;
      if (model === 'gpt') expect(sent.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'plain gpt' }]);
      else expect(sent).toMatchObject({ system: 'Be brief.', messages: [{ role: 'user', content: [{ type: 'text', text: 'plain claude' }] }] });
      // The response is a job like any other.
      const job = (await client(gateway.url).get(`/v1/jobs/${response.id}`)).body as JobObject;
      expect(job).toMatchObject({ id: response.id, object: 'job', status: 'succeeded', priority: 'high', metadata: { run: 'plain' } });
    });

    it(`${model}: a function tool call comes back as a function_call item; function_call_output with previous_response_id continues the conversation`, async () => {
      fake().script({ body: model === 'gpt' ? openAIToolCall : anthropicToolUse });
      const first = await sdk.responses.create({ model, input: `weather please ${model}`, instructions: 'Use tools.', tools: [WEATHER_TOOL], tool_choice: 'auto' });
      const call = first.output.find((item) => item.type === 'function_call');
      expect(call).toMatchObject({ type: 'function_call', status: 'completed', name: 'get_weather', arguments: '{"city":"Oslo"}', call_id: model === 'gpt' ? 'call_abc' : 'toolu_01' });
      expect(call?.id).toMatch(/^fc_/);
      expect(first.tools).toEqual([{ ...WEATHER_TOOL, strict: false }]);
      const sentTools = (sentTo(fake(), `weather please ${model}`)?.body as { tools: unknown[] }).tools;
      expect(sentTools).toEqual(model === 'gpt'
        ? [{ type: 'function', function: { name: 'get_weather', description: 'Weather in a city', parameters: WEATHER_TOOL.parameters, strict: false } }]
        : [{ name: 'get_weather', description: 'Weather in a city', input_schema: WEATHER_TOOL.parameters }]);

      const second = await sdk.responses.create({
        model, previous_response_id: first.id, instructions: 'Answer in one line.',
        input: [{ type: 'function_call_output', call_id: call?.type === 'function_call' ? call.call_id : '', output: '{"celsius":4}' }],
      });
      expect(second.status).toBe('completed');
      expect(second.previous_response_id).toBe(first.id);
      const sent = sentTo(fake(), 'celsius')?.body as Record<string, unknown>;
      if (model === 'gpt') {
        // The earlier instructions are not carried over; the new ones come first.
        expect(sent.messages).toEqual([
          { role: 'system', content: 'Answer in one line.' },
          { role: 'user', content: 'weather please gpt' },
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } }] },
          { role: 'tool', tool_call_id: 'call_abc', content: '{"celsius":4}' },
        ]);
      } else {
        expect(sent).toMatchObject({
          system: 'Answer in one line.',
          messages: [
            { role: 'user', content: [{ type: 'text', text: 'weather please claude' }] },
            { role: 'assistant', content: [{ type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_01', name: 'get_weather', input: { city: 'Oslo' } }] },
            { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_01', content: '{"celsius":4}' }] },
          ],
        });
      }
    });

    it(`${model}: streams the Responses events to response.completed, the joined deltas equal to the final text, every sequence_number in order`, async () => {
      const { data: stream, response: http } = await sdk.responses.create({ model, input: `stream me ${model}`, stream: true }).withResponse();
      expect(http.headers.get('content-type')).toContain('text/event-stream');
      expect(http.headers.get('x-sluice-provider')).toBe(model === 'gpt' ? 'openai' : 'anthropic');
      const events = await collect(stream);
      expect(events.map((event) => event.sequence_number)).toEqual(events.map((_, index) => index));
      expect(events.slice(0, 4).map((event) => event.type)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
      expect(events.filter((event) => event.type === 'response.output_text.delta').length).toBeGreaterThan(1);
      const last = events.at(-1);
      expect(last?.type).toBe('response.completed');
      const final = last?.type === 'response.completed' ? last.response : null;
      expect(joinedDeltas(events)).toBe(`fake: stream me ${model}`);
      expect(final?.output).toEqual([expect.objectContaining({ type: 'message', content: [expect.objectContaining({ text: `fake: stream me ${model}` })] })]);
      expect(final?.usage?.total_tokens).toBe(21);
      expect(final?.id).toBe(http.headers.get('x-sluice-job-id'));
      // Retrieved afterwards, the response is the one the stream ended with.
      expect(await sdk.responses.retrieve(final?.id ?? '')).toMatchObject({ status: 'completed', output: final?.output, usage: final?.usage });
    });
  }

  it('a streamed tool call sends function_call_arguments deltas and done, and output_item.done carries the call (anthropic)', async () => {
    anthropicFake.streams.script({ text: '', toolCalls: [{ name: 'get_weather', arguments: { city: 'Bergen' } }] });
    const events = await collect(await sdk.responses.create({ model: 'claude', input: 'stream a tool call', tools: [WEATHER_TOOL], stream: true }));
    const deltas = events.filter((event) => event.type === 'response.function_call_arguments.delta');
    expect(deltas.length).toBeGreaterThan(1);
    expect(events.find((event) => event.type === 'response.function_call_arguments.done')).toMatchObject({ output_index: 0, arguments: '{"city":"Bergen"}', name: 'get_weather' });
    const done = events.find((event) => event.type === 'response.output_item.done');
    expect(done).toMatchObject({ output_index: 0, item: { type: 'function_call', name: 'get_weather', arguments: '{"city":"Bergen"}', status: 'completed' } });
    expect(events.at(-1)?.type).toBe('response.completed');
  });

  it('the SDK\'s responses.stream() helper accumulates the same response (openai, a tool call streamed)', async () => {
    openaiFake.script({ stream: openAIStream({ toolCall: { name: 'get_weather', arguments: '{"city":"Rome"}' } }) });
    const final = await sdk.responses.stream({ model: 'gpt', input: 'helper stream', tools: [WEATHER_TOOL] }).finalResponse();
    expect(final.output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_fake1', arguments: '{"city":"Rome"}' })]);
  });

  it('text.format json_schema becomes response_format; a target that cannot honour it is skipped with unsupported_parameter', async () => {
    const format = { type: 'json_schema' as const, name: 'city', schema: { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false }, strict: true };
    openaiFake.script({ body: { ...openAIToolCall, choices: [{ index: 0, message: { role: 'assistant', content: '{"name":"Oslo"}' }, finish_reason: 'stop' }] } });
    const response = await sdk.responses.create({ model: 'either', input: 'json please', text: { format } });
    expect(JSON.parse(response.output_text)).toEqual({ name: 'Oslo' });
    expect(response.text?.format).toEqual({ ...format, description: null });
    expect((sentTo(openaiFake, 'json please')?.body as Record<string, unknown>).response_format).toEqual({ type: 'json_schema', json_schema: { name: 'city', schema: format.schema, strict: true } });
    expect(sentTo(anthropicFake, 'json please')).toBeUndefined();
    const job = (await client(gateway.url).get(`/v1/jobs/${response.id}`)).body as JobObject;
    expect(job.routing.candidates.map((candidate) => [candidate.provider, candidate.reason])).toEqual([['anthropic', 'unsupported_parameter'], ['openai', null]]);
  });

  it('reasoning.effort reaches a target that takes it and makes one that does not ineligible', async () => {
    const response = await sdk.responses.create({ model: 'gpt', input: 'think hard', reasoning: { effort: 'low' } });
    expect(response.reasoning).toEqual({ effort: 'low', summary: null });
    expect((sentTo(openaiFake, 'think hard')?.body as Record<string, unknown>).reasoning_effort).toBe('low');
    const refused = await sdk.responses.create({ model: 'claude', input: 'think', reasoning: { effort: 'high' } }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).code).toBe('no_eligible_target');
    expect((refused as Error).message).toContain('anthropic/claude-3-5-haiku-latest: unsupported_parameter');
  });

  it('max_output_tokens cut short is an incomplete response with reason max_output_tokens; usage details come through', async () => {
    openaiFake.script({ body: { ...openAIToolCall, choices: [{ index: 0, message: { role: 'assistant', content: 'Once upon' }, finish_reason: 'length' }] } });
    const response = await sdk.responses.create({ model: 'gpt', input: 'long story', max_output_tokens: 16 });
    expect(response).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' }, max_output_tokens: 16, output_text: 'Once upon' });
    expect(response.output[0]).toMatchObject({ status: 'incomplete' });
    expect(response.usage).toEqual({ input_tokens: 20, input_tokens_details: { cached_tokens: 8 }, output_tokens: 10, output_tokens_details: { reasoning_tokens: 3 }, total_tokens: 30 });
    expect((sentTo(openaiFake, 'long story')?.body as Record<string, unknown>).max_completion_tokens).toBe(16);
  });

  it('background: answered at once queued, retrieved until completed; priority, tier, deadline_s and webhook apply as for /v1/jobs', async () => {
    openaiFake.script({ delayMs: 300 });
    const created = await sdk.responses.create({ model: 'gpt', input: 'in the background', background: true, priority: 'low', tier: 'premium', deadline_s: 600, webhook: { url: receiver.url } } as OpenAI.Responses.ResponseCreateParamsNonStreaming);
    expect(created).toMatchObject({ status: 'queued', background: true, output: [], usage: null });
    let response = created;
    const deadline = Date.now() + 10_000;
    while (response.status === 'queued' || response.status === 'in_progress') {
      if (Date.now() > deadline) throw new Error(`still ${response.status}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      response = await sdk.responses.retrieve(created.id);
    }
    expect(response).toMatchObject({ id: created.id, status: 'completed', output_text: 'fake: in the background' });
    const job = (await client(gateway.url).get(`/v1/jobs/${created.id}`)).body as JobObject;
    expect(job).toMatchObject({ priority: 'low', tier: 'premium', expires_at: job.created_at + 600 });
    const [hook] = await receiver.waitFor(1);
    expect(JSON.parse(hook?.body ?? '{}')).toMatchObject({ type: 'job.succeeded', data: { id: created.id, status: 'succeeded' } });
  });

  it('fallbacks and cache work as on /v1/jobs: a failing target fails over, a repeated request is answered from the cache (streamed too)', async () => {
    anthropicFake.script({ status: 500, body: { type: 'error', error: { type: 'api_error', message: 'down' } } });
    const failedOver = await sdk.responses.create({ model: 'claude', input: 'fail over', fallbacks: ['openai/gpt-4o-mini'] } as OpenAI.Responses.ResponseCreateParamsNonStreaming).withResponse();
    expect(failedOver.data.output_text).toBe('fake: fail over');
    expect(failedOver.response.headers.get('x-sluice-provider')).toBe('openai');

    const body = { model: 'gpt', input: 'cache me', cache: { ttl_s: 60 } } as OpenAI.Responses.ResponseCreateParamsNonStreaming;
    const first = await sdk.responses.create(body);
    const calls = openaiFake.requests.length;
    const second = await sdk.responses.create(body);
    expect(second.id).not.toBe(first.id);
    expect(second.output_text).toBe(first.output_text);
    const events = await collect(await sdk.responses.create({ ...body, stream: true } as OpenAI.Responses.ResponseCreateParamsStreaming));
    expect(joinedDeltas(events)).toBe('fake: cache me');
    expect(events.at(-1)?.type).toBe('response.completed');
    expect(openaiFake.requests.length).toBe(calls);
    const job = (await client(gateway.url).get(`/v1/jobs/${second.id}`)).body as JobObject;
    expect(job).toMatchObject({ cache: { hit: true }, cost_usd: 0 });
  });

  it('responses.cancel on a slow background response cancels its job (the provider call is aborted) and answers status cancelled', async () => {
    openaiFake.script({ hang: true });
    const posted = openaiFake.requests.filter((request) => request.method === 'POST').length;
    const created = await sdk.responses.create({ model: 'gpt', input: 'never finishes', background: true });
    await openaiFake.waitForRequests(posted + 1); // the call is under way (canceled while queued, it would never reach the fake)
    const cancelled = await sdk.responses.cancel(created.id);
    expect(cancelled).toMatchObject({ id: created.id, status: 'cancelled', error: null });
    // This job's call, not one an earlier test left aborted.
    await eventually(() => sentTo(openaiFake, 'never finishes')?.aborted === true, 10_000, 'the canceled call aborted at the provider');
    expect(await sdk.responses.cancel(created.id)).toMatchObject({ status: 'cancelled' }); // idempotent
    expect((await sdk.responses.retrieve(created.id)).status).toBe('cancelled');
  });

  it('a background stream resumes with starting_after: exactly the events after N, and replays whole with the same numbers', async () => {
    anthropicFake.streams.script({ text: 'one two three four five six', delayMs: 40 });
    // The connection drops after event 4 while the job is still generating; leaving a background stream cancels nothing.
    const head: ResponseStreamEvent[] = [];
    for await (const event of await sdk.responses.create({ model: 'claude', input: 'resumable', background: true, stream: true })) {
      head.push(event);
      if (event.sequence_number === 4) break;
    }
    expect(head[0]).toMatchObject({ type: 'response.created', sequence_number: 0, response: { status: 'queued', background: true } });
    const id = head[0]?.type === 'response.created' ? head[0].response.id : '';
    const resumed = await collect(await sdk.responses.retrieve(id, { stream: true, starting_after: 4 }));
    expect(resumed[0]?.sequence_number).toBe(5);
    expect(resumed.at(-1)?.type).toBe('response.completed');
    const whole = [...head, ...resumed];
    expect(whole.map((event) => event.sequence_number)).toEqual(whole.map((_, index) => index));
    expect(joinedDeltas(whole)).toBe('one two three four five six');
    // Replayed later, from the start, every reader gets the same events with the same numbers.
    expect(await collect(await sdk.responses.retrieve(id, { stream: true }))).toEqual(whole);
    // The SDK's own resume (it replays from the start and drops what it had) ends with the same response.
    const helper = await sdk.responses.stream({ response_id: id, starting_after: 4 }).finalResponse();
    expect(helper.output_text).toBe('one two three four five six');
  });

  it('a foreground stream that fails before its first chunk answers the HTTP error; leaving one mid-way cancels its job', async () => {
    anthropicFake.script({ status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: 'prompt refused by the fake' } } });
    const refused = await sdk.responses.create({ model: 'claude', input: 'refuse me', stream: true }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as Error).message).toContain('prompt refused by the fake');

    // Long enough (40 words, 100 ms apart) that leaving reaches the gateway well before the stream's end.
    anthropicFake.streams.script({ text: Array.from({ length: 40 }, (_, index) => `w${index}`).join(' '), delayMs: 100 });
    let id = '';
    for await (const event of await sdk.responses.create({ model: 'claude', input: 'leave early', stream: true })) {
      if (event.type === 'response.created') id = event.response.id;
      if (event.type === 'response.output_text.delta') break;
    }
    const job = await client(gateway.url).waitForJob(id, (found) => found.status !== 'running');
    expect(job.status).toBe('canceled');
    expect((await sdk.responses.retrieve(id)).status).toBe('cancelled');
  });

  it('a provider failure mid-stream ends with an error event and response.failed; the SDK raises it as an APIError', async () => {
    anthropicFake.streams.script({ errorAfterDeltas: 2 });
    const seen: ResponseStreamEvent[] = [];
    const error = await (async () => {
      for await (const event of await sdk.responses.create({ model: 'claude', input: 'break midway', stream: true, background: true })) seen.push(event);
    })().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect((error as InstanceType<typeof OpenAI.APIError>).code).toBe('stream_interrupted');
    const id = seen[0]?.type === 'response.created' ? seen[0].response.id : '';
    const raw = await client(gateway.url).get(`/v1/responses/${id}?stream=true`);
    const types = String(raw.body).split('\n').filter((line) => line.startsWith('event: ')).map((line) => line.slice(7));
    expect(types.slice(-2)).toEqual(['error', 'response.failed']);
    expect(await sdk.responses.retrieve(id)).toMatchObject({ status: 'failed', error: { code: 'stream_interrupted' } });
  });

  it('store: false keeps the response readable but not continuable; item references resolve from stored responses', async () => {
    const unstored = await sdk.responses.create({ model: 'gpt', input: 'forget me', store: false });
    expect(await sdk.responses.retrieve(unstored.id)).toMatchObject({ store: false });
    const refused = await sdk.responses.create({ model: 'gpt', input: 'and then?', previous_response_id: unstored.id }).catch((error: unknown) => error);
    expect(refused).toMatchObject({ status: 400, code: 'previous_response_not_found', param: 'previous_response_id' });
    expect((refused as Error).message).toContain('store: false');

    const stored = await sdk.responses.create({ model: 'gpt', input: 'remember me' });
    const item = stored.output[0];
    await sdk.responses.create({ model: 'gpt', input: [{ role: 'user', content: 'remember me' }, { type: 'item_reference', id: item?.id ?? '' }, { role: 'user', content: 'what did you say?' }] });
    expect((sentTo(openaiFake, 'what did you say?')?.body as { messages: unknown[] }).messages).toEqual([
      { role: 'user', content: 'remember me' }, { role: 'assistant', content: 'fake: remember me' }, { role: 'user', content: 'what did you say?' },
    ]);
    const missing = await sdk.responses.create({ model: 'gpt', input: [{ type: 'item_reference', id: `msg_${unstored.id.slice(5)}_0` }] }).catch((error: unknown) => error);
    expect(missing).toMatchObject({ status: 404, code: 'item_not_found' });
  });

  it('delete removes an ended response (then 404); one still running is a 409', async () => {
    const response = await sdk.responses.create({ model: 'gpt', input: 'delete me' });
    const deleted = await client(gateway.url).send('DELETE', `/v1/responses/${response.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { id: response.id, object: 'response.deleted', deleted: true } });
    await expect(sdk.responses.retrieve(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    await expect(sdk.responses.delete(response.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);

    openaiFake.script({ hang: true });
    const running = await sdk.responses.create({ model: 'gpt', input: 'still running', background: true });
    const busy = await client(gateway.url).send('DELETE', `/v1/responses/${running.id}`);
    expect(busy).toMatchObject({ status: 409, body: { error: { code: 'response_not_finished' } } });
    await sdk.responses.cancel(running.id);
    await sdk.responses.delete(running.id);
    await expect(sdk.responses.retrieve(running.id)).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('another tenant\'s response id, or an unknown one, is a 404 in OpenAI\'s error shape everywhere', async () => {
    const mine = await sdk.responses.create({ model: 'gpt', input: 'mine only' });
    for (const attempt of [() => other.responses.retrieve(mine.id), () => other.responses.cancel(mine.id), () => other.responses.delete(mine.id), () => sdk.responses.retrieve('resp_doesnotexist')]) {
      const error = await attempt().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(OpenAI.NotFoundError);
      expect((error as InstanceType<typeof OpenAI.NotFoundError>).error).toMatchObject({ type: 'not_found_error', code: 'response_not_found', param: 'id' });
    }
    const chained = await other.responses.create({ model: 'gpt', input: 'x', previous_response_id: mine.id }).catch((error: unknown) => error);
    expect(chained).toMatchObject({ status: 400, code: 'previous_response_not_found' });
    expect((await client(gateway.url, KEYS.globex).get(`/v1/jobs/${mine.id}`)).status).toBe(404);
  });

  it('bad input gets a 400 naming the problem; unsupported fields are refused, never dropped', async () => {
    const api = client(gateway.url);
    const cases: [Record<string, unknown>, string | null, RegExp][] = [
      [{ model: 'gpt', input: 'x', conversation: 'conv_1', prompt: { id: 'pmpt_1' } }, 'conversation', /Unsupported parameters: conversation, prompt/],
      [{ model: 'gpt', input: 'x', tools: [{ type: 'web_search' }] }, 'tools.0.type', /tool type "web_search" is not supported/],
      [{ model: 'gpt', input: 'x', include: ['message.output_text.logprobs'] }, 'include', /include is not supported/],
      [{ model: 'gpt', input: 'x', truncation: 'auto' }, 'truncation', /truncation "auto" is not supported/],
      [{ model: 'gpt', input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }, 'input.0.content.0.type', /input_file" is not supported/],
      [{ model: 'gpt', input: [{ type: 'reasoning', id: 'rs_1', summary: [] }] }, 'input.0.type', /input item type "reasoning" is not supported/],
      [{ model: 'gpt' }, 'input', /input/],
      [{ model: 'gpt', input: 'x', temperature: 3 }, 'temperature', /temperature/],
      [{ model: 'gpt', input: 'x', previous_response_id: 'resp_nope' }, 'previous_response_id', /Previous response with id 'resp_nope' not found/],
      [{ model: 'no-such-route', input: 'x' }, 'model', /not a route/],
    ];
    for (const [body, param, message] of cases) {
      const reply = await api.post('/v1/responses', body);
      expect(reply.status, JSON.stringify(body)).toBe(400);
      expect(reply.body.error).toMatchObject({ type: 'invalid_request_error', param });
      expect(reply.body.error.message).toMatch(message);
    }
    const query = await api.get('/v1/responses/resp_AAAAAAAAAAAAAAAAAAAAAA?include[]=x');
    expect(query.status).toBe(400);
  });
});

describe('the Responses API on the gemini provider type', () => {
  let geminiFake: FakeProviderServer;
  let gateway: Gateway;
  let sdk: OpenAI;
  beforeAll(async () => {
    geminiFake = await startFakeProvider('gemini');
    gateway = await startGateway(makeConfig({ providers: { gemini: { type: 'gemini', base_url: geminiFake.url, api_key: 'gm-secret' } }, routes: { gem: ['gemini/gemini-2.0-flash'] } }));
    sdk = new OpenAI({ apiKey: KEYS.acme, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });
  afterAll(async () => {
    await gateway.close();
    await geminiFake.close();
  });

  it('answers a plain response, and streams one to response.completed with the joined deltas equal to its text', async () => {
    const plain = await sdk.responses.create({ model: 'gem', input: 'plain gemini', instructions: 'Be brief.' });
    expect(plain.status).toBe('completed');
    expect(plain.output_text).toContain('plain gemini');
    expect(plain.usage?.total_tokens).toBeGreaterThan(0);
    const sent = sentTo(geminiFake, 'plain gemini')?.body as { systemInstruction?: unknown; contents?: unknown };
    expect(JSON.stringify(sent.systemInstruction)).toContain('Be brief.');
    const events = await collect(await sdk.responses.create({ model: 'gem', input: 'stream gemini', stream: true }));
    const last = events.at(-1);
    expect(last?.type).toBe('response.completed');
    const final = last?.type === 'response.completed' ? last.response : null;
    expect(joinedDeltas(events)).toContain('stream gemini');
    expect(final?.output_text ?? (final?.output[0] as { content?: { text: string }[] } | undefined)?.content?.[0]?.text).toBe(joinedDeltas(events));
  });
});
