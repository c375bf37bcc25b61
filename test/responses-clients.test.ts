import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateText, jsonSchema, stepCountIs, streamText, tool } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';
import { ChatOpenAI } from '@langchain/openai';
import { startFakeProvider, type FakeProviderServer, type RecordedRequest } from '@sluice/providers/testing';
import { client, KEYS, makeConfig, startGateway, type Gateway } from './harness/gateway.ts';

const sentTo = (fake: FakeProviderServer, text: string): RecordedRequest | undefined => [...fake.requests].reverse().find((request) => JSON.stringify(request.body ?? '').includes(text));

/** Which Sluice path a request took, from the job it made (`resp_…` ids are responses). */
const kindOf = (id: string | null | undefined): string => (id?.startsWith('resp_') ? 'response' : id?.startsWith('job_') ? 'chat' : `unknown (${String(id)})`);

describe('the Vercel AI SDK and LangChain against Sluice, unchanged, on openai and anthropic provider types', () => {
  let openaiFake: FakeProviderServer;
  let anthropicFake: FakeProviderServer;
  let gateway: Gateway;
  /** Job ids Sluice answered with, in order (from `x-sluice-job-id`). */
  const jobIds: string[] = [];
  /** The JSON bodies the clients sent, in order. */
  const sent: Record<string, unknown>[] = [];
  const recordingFetch: typeof fetch = async (input, init) => {
    if (typeof init?.body === 'string') sent.push(JSON.parse(init.body) as Record<string, unknown>);
    const response = await fetch(input, init);
    jobIds.push(response.headers.get('x-sluice-job-id') ?? '');
    return response;
  };

  beforeAll(async () => {
    [openaiFake, anthropicFake] = await Promise.all([startFakeProvider('openai'), startFakeProvider('anthropic')]);
    gateway = await startGateway(
      makeConfig({
        providers: {
          openai: { type: 'openai', base_url: openaiFake.url, api_key: 'sk-openai-secret' },
          anthropic: { type: 'anthropic', base_url: anthropicFake.url, api_key: 'sk-ant-secret' },
        },
        routes: { gpt: ['openai/gpt-4o-mini'], claude: ['anthropic/claude-3-5-haiku-latest'] },
      }),
    );
  });
  afterAll(async () => {
    await gateway.close();
    await Promise.all([openaiFake.close(), anthropicFake.close()]);
  });

  for (const [model, fake] of [['gpt', () => openaiFake], ['claude', () => anthropicFake]] as const) {
    describe(model, () => {
      const provider = () => createOpenAI({ baseURL: `${gateway.url}/v1`, apiKey: KEYS.acme, fetch: recordingFetch });

      it('AI SDK generateText with openai(model) goes through /v1/responses', async () => {
        const result = await generateText({ model: provider()(model), system: 'Be brief.', prompt: `ai generate ${model}` });
        expect(result.text).toBe(`fake: ai generate ${model}`);
        expect(result.finishReason).toBe('stop');
        expect(result.usage).toMatchObject({ inputTokens: 9, outputTokens: 12, totalTokens: 21 });
        expect(kindOf(jobIds.at(-1))).toBe('response');
        expect(result.response.id).toBe(jobIds.at(-1));
      });

      it('AI SDK streamText reads the Responses event stream to the end', async () => {
        const result = streamText({ model: provider()(model), prompt: `ai stream ${model}` });
        const pieces: string[] = [];
        for await (const piece of result.textStream) pieces.push(piece);
        expect(pieces.length).toBeGreaterThan(1);
        expect(pieces.join('')).toBe(`fake: ai stream ${model}`);
        expect(await result.finishReason).toBe('stop');
        expect((await result.usage).totalTokens).toBe(21);
        expect(kindOf(jobIds.at(-1))).toBe('response');
      });

      it('AI SDK tool loop: the call comes back, the tool runs, the second step sends its result and refers to the earlier text by item_reference', async () => {
        const toolArguments = { city: 'Oslo' };
        if (model === 'gpt') {
          fake().script({ body: { id: 'c1', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, message: { role: 'assistant', content: 'Checking.', tool_calls: [{ id: 'call_ai', type: 'function', function: { name: 'weather', arguments: JSON.stringify(toolArguments) } }] }, finish_reason: 'tool_calls' }], usage: { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 } } });
        } else {
          fake().script({ body: { type: 'message', id: 'msg_t', role: 'assistant', model: 'claude', content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'toolu_ai', name: 'weather', input: toolArguments }], stop_reason: 'tool_use', stop_sequence: null, usage: { input_tokens: 5, output_tokens: 5 } } });
        }
        const calls: unknown[] = [];
        const result = await generateText({
          model: provider()(model),
          prompt: `tool loop ${model}`,
          tools: { weather: tool({ description: 'Weather', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }), execute: async (input) => (calls.push(input), { celsius: 4 }) }) },
          stopWhen: stepCountIs(2),
        });
        expect(calls).toEqual([toolArguments]);
        expect(result.steps).toHaveLength(2);
        expect(result.steps[0]?.toolCalls).toEqual([expect.objectContaining({ toolName: 'weather', input: toolArguments })]);
        // The fake echoes the last user text: for Anthropic that is the turn carrying the tool result, which has none.
        expect(result.text).toBe(model === 'gpt' ? 'fake: tool loop gpt' : 'fake: ');
        const input = sent.at(-1)?.input as { type?: string; id?: string }[];
        expect(input.map((item) => item.type ?? 'message')).toEqual(['message', 'item_reference', 'function_call', 'function_call_output']);
        expect(input[1]?.id).toMatch(/^msg_/);
        // Sluice resolved the reference to the earlier answer's text; the provider got the whole exchange in its own format.
        const second = JSON.stringify(sentTo(fake(), 'celsius')?.body);
        expect(second).toContain('Checking.');
        expect(second).toContain(model === 'gpt' ? '"tool_call_id":"call_ai"' : '"tool_use_id":"toolu_ai"');
      });

      it('LangChain ChatOpenAI invoke and stream (chat completions by default)', async () => {
        const chat = new ChatOpenAI({ model, apiKey: KEYS.acme, configuration: { baseURL: `${gateway.url}/v1`, fetch: recordingFetch }, maxRetries: 0 });
        const message = await chat.invoke(`lc invoke ${model}`);
        expect(message.content).toBe(`fake: lc invoke ${model}`);
        expect(kindOf(jobIds.at(-1))).toBe('chat');
        let text = '';
        for await (const chunk of await chat.stream(`lc stream ${model}`)) text += typeof chunk.content === 'string' ? chunk.content : '';
        expect(text).toBe(`fake: lc stream ${model}`);
        expect(kindOf(jobIds.at(-1))).toBe('chat');
      });

      it('LangChain ChatOpenAI with useResponsesApi: true, invoke and stream', async () => {
        const chat = new ChatOpenAI({ model, apiKey: KEYS.acme, useResponsesApi: true, configuration: { baseURL: `${gateway.url}/v1`, fetch: recordingFetch }, maxRetries: 0 });
        const message = await chat.invoke([['system', 'Be brief.'], ['human', `lc responses ${model}`]]);
        expect(message.text).toBe(`fake: lc responses ${model}`);
        expect(message.usage_metadata).toMatchObject({ input_tokens: 9, output_tokens: 12, total_tokens: 21 });
        expect(kindOf(jobIds.at(-1))).toBe('response');
        let text = '';
        for await (const chunk of await chat.stream(`lc responses stream ${model}`)) text += chunk.text;
        expect(text).toBe(`fake: lc responses stream ${model}`);
        expect(kindOf(jobIds.at(-1))).toBe('response');
        const job = (await client(gateway.url).get(`/v1/jobs/${jobIds.at(-1)}`)).body as { status: string };
        expect(job.status).toBe('succeeded');
      });
    });
  }
});
