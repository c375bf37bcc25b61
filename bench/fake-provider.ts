// A zero-latency OpenAI-shaped provider for benchmarks: reads the body, answers one fixed completion.
import { createServer } from 'node:http';

const reply = JSON.stringify({
  id: 'chatcmpl-bench', object: 'chat.completion', created: 1764000000, model: 'bench',
  choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
  usage: { prompt_tokens: 260, completion_tokens: 1, total_tokens: 261 },
});
const models = JSON.stringify({ object: 'list', data: [{ id: 'bench', object: 'model' }] });
const server = createServer((req, res) => {
  req.on('data', () => undefined);
  req.on('end', () => {
    const body = req.method === 'GET' ? models : reply;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : ''}`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
