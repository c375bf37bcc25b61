import { EventEmitter, once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

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
}

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
  receivedAt: number;
  /** The client went away before the reply was sent. */
  aborted: boolean;
  /** The reply was sent in full. */
  answered: boolean;
}

export type ReplyFunction = (request: RecordedRequest) => FakeReply | Promise<FakeReply>;

export interface FakeOpenAIServer {
  /** Base URL including `/v1`. */
  url: string;
  requests: RecordedRequest[];
  /** Replies used in order before `reply` takes over again. */
  script(...replies: FakeReply[]): void;
  /** Replaces the default reply. */
  setReply(reply: ReplyFunction): void;
  /** Resolves once `count` chat requests have arrived. */
  waitForRequests(count: number, timeoutMs?: number): Promise<RecordedRequest[]>;
  /** TCP connections accepted so far (keep-alive clients open few). */
  connectionCount(): number;
  /** Resolves when a request is aborted by the client. */
  waitForAbort(timeoutMs?: number): Promise<RecordedRequest>;
  close(): Promise<void>;
}

/** A chat.completion in OpenAI's documented shape that echoes the last user message. */
export function echoCompletion(request: RecordedRequest): Record<string, unknown> {
  const body = request.body as { model?: string; messages?: { role: string; content: unknown }[] };
  const last = [...(body.messages ?? [])].reverse().find((message) => message.role === 'user');
  const text = typeof last?.content === 'string' ? last.content : JSON.stringify(last?.content ?? '');
  return {
    id: `chatcmpl-fake${request.receivedAt}`,
    object: 'chat.completion',
    created: Math.floor(request.receivedAt / 1000),
    model: body.model ?? 'unknown',
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, message: { role: 'assistant', content: `fake: ${text}`, refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 },
  };
}

/** A real HTTP server on 127.0.0.1 speaking OpenAI's chat-completions wire format, with scripted faults. */
export async function startFakeOpenAI(defaultReply: ReplyFunction = () => ({})): Promise<FakeOpenAIServer> {
  const requests: RecordedRequest[] = [];
  const scripted: FakeReply[] = [];
  const events = new EventEmitter();
  let reply = defaultReply;

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

    const planned = scripted.shift() ?? (await reply(recorded));
    if (planned.hang) return;
    if (planned.delayMs) await new Promise((resolve) => setTimeout(resolve, planned.delayMs));
    if (res.destroyed) return;
    const payload = planned.body === undefined ? (req.url?.includes('/models') ? { object: 'list', data: [{ id: 'fake-model', object: 'model' }] } : echoCompletion(recorded)) : planned.body;
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

  const chatRequests = (): RecordedRequest[] => requests.filter((request) => request.path.endsWith('/chat/completions'));

  return {
    url: `http://127.0.0.1:${port}/v1`,
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
