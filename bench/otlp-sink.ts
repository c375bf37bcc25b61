// A loopback OTLP/HTTP collector stand-in for `BENCH_TRACING=1`: takes every export (`POST
// /v1/traces`), reads the body and drops it, answers 200. It decodes nothing, so its cost on the
// shared cores stays small; on exit it prints how many exports and bytes it took.
import { createServer } from 'node:http';

let exports = 0;
let bytes = 0;
const server = createServer((req, res) => {
  req.on('data', (chunk: Buffer) => void (bytes += chunk.length));
  req.on('end', () => {
    exports += 1;
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address !== null ? address.port : 0}`);
});
process.on('SIGTERM', () => {
  console.error(`otlp sink: ${exports} exports, ${bytes} bytes`);
  server.close(() => process.exit(0));
  server.closeAllConnections();
});
