import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  /** Statuses answered in order; 200 after they run out. */
  answer(...statuses: number[]): void;
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedWebhook[]>;
  close(): Promise<void>;
}

/** Starts `server` on a free port of 127.0.0.1 and answers the port. */
async function listenOnLoopback(server: Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

/** Closes `server` and every connection it holds (a receiver that never answers holds them open). */
async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A real HTTP server on 127.0.0.1 that records webhook deliveries and answers scripted statuses. */
export async function startWebhookReceiver(): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const statuses: number[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
    const status = statuses.shift() ?? 200;
    res.writeHead(status, status >= 300 && status < 400 ? { location: 'http://127.0.0.1:9/elsewhere' } : {});
    res.end(status === 200 ? 'ok' : 'nope');
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    answer: (...next) => void statuses.push(...next),
    async waitFor(count, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      while (received.length < count) {
        if (Date.now() > deadline) throw new Error(`receiver got ${received.length} of ${count} webhooks in ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return received;
    },
    close: () => closeServer(server),
  };
}

export interface SilentReceiver {
  url: string;
  /** Every request that arrived (its `webhook-id` and when), answered or not. */
  received: { webhookId: string; at: number }[];
  /** Requests open now, and the most that were open at once. */
  open(): number;
  mostOpen(): number;
  close(): Promise<void>;
}

/**
 * A receiver that never answers: a real HTTP server on 127.0.0.1 that accepts each connection,
 * reads the request and holds it open until the sender gives up. It counts how many it holds at once.
 */
export async function startSilentReceiver(): Promise<SilentReceiver> {
  const received: SilentReceiver['received'] = [];
  let open = 0;
  let mostOpen = 0;
  const server = createServer((req, res) => {
    received.push({ webhookId: String(req.headers['webhook-id']), at: Date.now() });
    open += 1;
    mostOpen = Math.max(mostOpen, open);
    // The request ends when the sender's end of the connection reaches the server (it never gets an
    // answer, so each connection carries this one request). The response's 'close' comes a loop turn
    // or more later, after the server's own shutdown, by when the sender may have started its next
    // request and the count would take both as open at once.
    let ended = false;
    const end = (): void => {
      if (ended) return;
      ended = true;
      open -= 1;
    };
    req.socket.once('end', end).once('close', end);
    req.resume();
  });
  const port = await listenOnLoopback(server);
  return {
    url: `http://127.0.0.1:${port}/silent`,
    received,
    open: () => open,
    mostOpen: () => mostOpen,
    close: () => closeServer(server),
  };
}
