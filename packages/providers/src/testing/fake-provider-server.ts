import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAnthropicBatchRoutes } from './fake-anthropic-batches.ts';
import { anthropicStreamFormat } from './fake-anthropic-stream.ts';
import { createFakeBatchStore, type BatchRoutes, type FakeBatchApi, type FakeBatchStore } from './fake-batch-store.ts';
import { echoGeminiEmbeddings, echoOpenAIEmbeddings, isGeminiEmbeddingsRequest, isOpenAIEmbeddingsRequest } from './fake-embeddings.ts';
import { createGeminiBatchRoutes } from './fake-gemini-batches.ts';
import { geminiStreamFormat } from './fake-gemini-stream.ts';
import { createOpenAIBatchRoutes } from './fake-openai-batches.ts';
import { openAIStream } from './fake-openai-stream.ts';
import { asksToStream, writeFakeStream, type FakeStream, type FakeStreamPlan } from './fake-stream.ts';
import { createFakeStreams, type FakeStreamApi, type StreamFormat } from './fake-sse-stream.ts';

/** What the fake sends for one request. */
export interface FakeReply {
  /** HTTP status. Default 200. */
  status?: number;
  /** JSON-encoded unless a string. Default: a chat.completion echoing the last user message. */
  body?: unknown;
  headers?: Record<string, string>;
  /** Wait before answering. Default 0. */
  delayMs?: number;
  /** Never answer (until the client gives up or the server closes). */
  hang?: boolean;
  /**
   * Answer with this event stream (status default 200). Default, for a request that asks to stream
   * and a reply without `body`: the format's echo stream, where the format has one.
   */
  stream?: FakeStreamPlan;
}

/** OpenAI's answer when its flex tier has no capacity (its exact code is undocumented; Sluice reads the words). */
export const FLEX_UNAVAILABLE_REPLY: FakeReply = { status: 429, body: { error: { message: 'Resource Unavailable', type: 'resource_unavailable', param: null, code: null } } };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  /** The parsed JSON body, as sent: `service_tier` and every other parameter included. */
  body: unknown;
  receivedAt: number;
  /** The client went away before the reply was sent. */
  aborted: boolean;
  /** The reply was sent in full. */
  answered: boolean;
}

export type WireFormat = 'openai' | 'anthropic' | 'gemini';

export type ReplyFunction = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeProviderServer {
  /** The base URL to configure: `…/v1` for OpenAI, the origin for Anthropic, `…/v1beta` for Gemini. */
  url: string;
  /** The wire format the default replies speak. */
  format: WireFormat;
  requests: RecordedRequest[];
  /** Replies used in order before `reply` takes over again. */
  script(...replies: FakeReply[]): void;
  /** Replaces the default reply. */
  setReply(reply: ReplyFunction): void;
  /** Resolves once `count` completion requests (POSTs) have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** TCP connections accepted so far (keep-alive clients open few). */
  connectionCount(): number;
  /** Resolves when a request is aborted by the client. */
  waitForAbort(timeoutMs?: number): Promise<RecordedRequest>;
  /**
   * The format's batch API, served beside its chat endpoint: script how the next batches progress
   * and end, and read what was submitted. Scripted replies (`script`) still come first.
   */
  batches: FakeBatchApi;
  /** How the next stream requests go (Anthropic `stream: true`, Gemini `:streamGenerateContent`), when no scripted or default reply sets a body or an error status. */
  streams: FakeStreamApi;
  close(): Promise<void>;
}

type Message = { role: string; content: unknown; parts?: { text?: string }[] };

/** The last user text of a request in any of the three formats. */
export function lastUserText(request: RecordedRequest): string {
  const body = (request.body ?? {}) as { messages?: Message[]; contents?: Message[] };
  const turns = body.messages ?? body.contents ?? [];
  const last = [...turns].reverse().find((turn) => turn.role === 'user');
  if (!last) return '';
  if (typeof last.content === 'string') return last.content;
  const blocks = (Array.isArray(last.content) ? last.content : (last.parts ?? [])) as { text?: unknown }[];
  return blocks.map((block) => (typeof block.text === 'string' ? block.text : '')).join('');
}

/** A chat.completion in OpenAI's documented shape that echoes the last user message. */
export function echoCompletion(request: RecordedRequest): Record<string, unknown> {
  const body = request.body as { model?: string };
  return {
    id: `chatcmpl-fake${request.receivedAt}`,
    object: 'chat.completion',
    created: Math.floor(request.receivedAt / 1000),
    model: body.model ?? 'unknown',
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, message: { role: 'assistant', content: `fake: ${lastUserText(request)}`, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
  };
}

/** A Messages API reply in Anthropic's documented shape. */
export function echoAnthropic(request: RecordedRequest): Record<string, unknown> {
  const body = request.body as { model?: string };
  return {
    id: `msg_fake${request.receivedAt}`,
    type: 'message',
    role: 'assistant',
    model: body.model ?? 'unknown',
    content: [{ type: 'text', text: `fake: ${lastUserText(request)}` }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 9, output_tokens: 12, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
  };
}

/** A generateContent reply in Gemini's documented shape. */
export function echoGemini(request: RecordedRequest): Record<string, unknown> {
  const model = /models\/([^:]+):/.exec(request.path)?.[1] ?? 'unknown';
  return {
    candidates: [{ content: { parts: [{ text: `fake: ${lastUserText(request)}` }], role: 'model' }, finishReason: 'STOP', index: 0 }],
    usageMetadata: { promptTokenCount: 9, candidatesTokenCount: 12, totalTokenCount: 21 },
    modelVersion: model,
    responseId: `fake${request.receivedAt}`,
  };
}

/** The default reply of a POST per format: its embeddings answer for an embeddings request, else its chat echo. */
const ECHO: Record<WireFormat, (request: RecordedRequest) => Record<string, unknown>> = {
  openai: (request) => (isOpenAIEmbeddingsRequest(request) ? echoOpenAIEmbeddings(request) : echoCompletion(request)),
  anthropic: echoAnthropic,
  gemini: (request) => (isGeminiEmbeddingsRequest(request) ? echoGeminiEmbeddings(request) : echoGemini(request)),
};
/** The default streamed reply per format: the JSON echo's text and usage, in chunks. Formats without one answer a streaming request with JSON. */
const STREAM_ECHO: Partial<Record<WireFormat, (request: RecordedRequest) => FakeStream>> = { openai: (request) => openAIStream()(request) };
const BASE_PATH: Record<WireFormat, string> = { openai: '/v1', anthropic: '', gemini: '/v1beta' };
const BATCH_ROUTES: Record<WireFormat, (store: FakeBatchStore) => BatchRoutes> = {
  openai: (store) => createOpenAIBatchRoutes(store, echoCompletion),
  anthropic: (store) => createAnthropicBatchRoutes(store, echoAnthropic),
  gemini: (store) => createGeminiBatchRoutes(store, echoGemini),
};
const STREAM_FORMATS: Partial<Record<WireFormat, StreamFormat>> = { anthropic: anthropicStreamFormat, gemini: geminiStreamFormat };

/**
 * A real HTTP server on 127.0.0.1 speaking one provider wire format, with scripted faults. POSTs
 * get the format's echo reply (embeddings, for the OpenAI format's `/embeddings` and Gemini's
 * `:batchEmbedContents`) unless a scripted or default reply says otherwise; GETs (the probes'
 * model listings) get a small list.
 */
export async function startFakeProvider(format: WireFormat, defaultReply: ReplyFunction = () => ({})): Promise<FakeProviderServer> {
  const requests: RecordedRequest[] = [];
  const scripted: FakeReply[] = [];
  const events = new EventEmitter();
  let reply = defaultReply;
  const batches = createFakeBatchStore();
  const batchRoutes = BATCH_ROUTES[format](batches);
  const streams = createFakeStreams(STREAM_FORMATS[format], (request: RecordedRequest) => `fake: ${lastUserText(request)}`);

  const server: Server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = raw;
    try {
      body = raw === '' ? null : JSON.parse(raw);
    } catch {
      // keep the raw text
    }
    const recorded: RecordedRequest = {
      method: req.method ?? 'GET',
      path: req.url ?? '/',
      headers: req.headers,
      body,
      receivedAt: Date.now(),
      aborted: false,
      answered: false,
    };
    requests.push(recorded);
    res.on('close', () => {
      if (!recorded.answered) {
        recorded.aborted = true;
        events.emit('abort', recorded);
      }
    });
    events.emit('request', recorded);

    const planned: FakeReply = scripted.shift() ?? batchRoutes(recorded) ?? (await reply(recorded));
    if (planned.hang) return;
    if (planned.delayMs) await new Promise((resolve) => setTimeout(resolve, planned.delayMs));
    if (res.destroyed) return;
    const stream = streamFor(format, planned, recorded);
    if (stream) {
      await writeFakeStream(res, recorded, stream, planned.status ?? 200, planned.headers ?? {});
      return;
    }
    if (planned.body === undefined && (planned.status ?? 200) < 300 && streams.serve(recorded, res, planned.headers)) return;
    const payload = planned.body === undefined ? (req.method === 'GET' ? { object: 'list', data: [{ id: 'fake-model', object: 'model' }] } : ECHO[format](recorded)) : planned.body;
    const text = typeof payload === 'string' ? payload : JSON.stringify(payload);
    recorded.answered = true;
    res.writeHead(planned.status ?? 200, { 'content-type': 'application/json', ...planned.headers });
    res.end(text);
  });
  let connections = 0;
  server.on('connection', () => void (connections += 1));
  server.keepAliveTimeout = 60_000;
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  const chatRequests = (): RecordedRequest[] => requests.filter((request) => request.method === 'POST');

  return {
    url: `http://127.0.0.1:${port}${BASE_PATH[format]}`,
    format,
    requests,
    script: (...replies) => void scripted.push(...replies),
    setReply: (next) => void (reply = next),
    async waitForRequests(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (chatRequests().length < count) {
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`fake provider saw ${chatRequests().length} of ${count} requests after ${timeoutMs} ms`);
        await Promise.race([once(events, 'request'), new Promise((resolve) => setTimeout(resolve, Math.min(left, 100)))]);
      }
      return chatRequests();
    },
    connectionCount: () => connections,
    batches,
    streams: { script: streams.script },
    async waitForAbort(timeoutMs = 10_000) {
      const already = requests.find((request) => request.aborted);
      if (already) return already;
      const [aborted] = (await once(events, 'abort', { signal: AbortSignal.timeout(timeoutMs) })) as [RecordedRequest];
      return aborted;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** The stream a reply sends: its own, or the format's echo when the request streams and the reply scripts no body. */
function streamFor(format: WireFormat, planned: FakeReply, request: RecordedRequest): FakeStream | null {
  const plan = planned.stream ?? (planned.body === undefined && asksToStream(request) ? STREAM_ECHO[format] : undefined);
  if (plan === undefined) return null;
  return typeof plan === 'function' ? plan(request) : plan;
}

/** The OpenAI-format fake (`url` ends in `/v1`). */
export const startFakeOpenAI = (defaultReply?: ReplyFunction): Promise<FakeProviderServer> => startFakeProvider('openai', defaultReply);
export type FakeOpenAIServer = FakeProviderServer;
