// An OpenAI-shaped provider for benchmarks, zero-latency unless `LATENCY_MS` is set: reads the body, answers one fixed completion,
// or, for `"stream":true`, an OpenAI chat.completion.chunk stream of `max_tokens` one-token chunks
// written as fast as the connection takes them, one `res.write` per event.
import { createServer, type ServerResponse } from 'node:http';

const reply = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1764000000, model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 260, completion_tokens: 1, total_tokens: 261 },
});
const models = JSON.stringify({ object: 'list', data: [{ id: 'bench', object: 'model' }] });

// OpenAI's framing: every chunk repeats id, created, model and fingerprint; `usage: null` on every chunk but the last when usage was asked for.
const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1764000000, model: 'bench', system_fingerprint: 'fp_bench' };
const event = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;
const chunkEvent = (delta: Record<string, unknown>, finish: string | null, withUsage: boolean): string =>
  event({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(withUsage ? { usage: null } : {}) });
const events = (withUsage: boolean) => ({
  first: chunkEvent({ role: 'assistant', content: '', refusal: null }, null, withUsage),
  token: chunkEvent({ content: ' ok' }, null, withUsage),
  finish: chunkEvent({}, 'stop', withUsage),
});
const framed = { usage: events(true), bare: events(false) };
const DONE = 'data: [DONE]\n\n';

/** Resolves when the response can take more, or is gone. */
const writable = (res: ServerResponse): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });

async function streamReply(res: ServerResponse, body: Buffer): Promise<void> {
  const tokens = Math.max(1, Number(/"max_tokens":(\d+)/.exec(body.toString())?.[1] ?? 16));
  const withUsage = body.includes('"include_usage":true');
  const frames = withUsage ? framed.usage : framed.bare;
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  res.write(frames.first);
  for (let index = 0; index < tokens; index += 1) {
    if (res.destroyed) return;
    if (!res.write(frames.token)) await writable(res);
  }
  res.write(frames.finish);
  if (withUsage) res.write(event({ ...base, choices: [], usage: { prompt_tokens: 260, completion_tokens: tokens, total_tokens: 260 + tokens } }));
  res.end(DONE);
}

/** `LATENCY_MS`: how long each completion takes before its answer (a real provider's seconds); 0 by default. */
const LATENCY_MS = Number(process.env.LATENCY_MS ?? 0);

const server = createServer((req, res) => {
  const parts: Buffer[] = [];
  req.on('data', (part: Buffer) => void parts.push(part));
  req.on('end', () => {
    const body = Buffer.concat(parts);
    if (req.method === 'POST' && body.includes('"stream":true')) return void streamReply(res, body);
    const answer = req.method === 'GET' ? models : reply;
    const send = (): void => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.end(answer);
    };
    if (LATENCY_MS > 0 && req.method === 'POST') setTimeout(send, LATENCY_MS);
    else send();
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : ''}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
