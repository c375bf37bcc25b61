// The baseline of the accept and pipeline benchmarks: an express handler that only calls queue.add.
// `/sync` is the bare synchronous chain for the sync row: it listens for the job's end, adds it, and
// answers with the reply the baseline worker publishes (run it with PUBLISH=1).
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';

const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: 1 });
const queue = new Queue('bare', { connection: redis, prefix: 'bare' });
const app = express();
app.use(express.json({ limit: '1mb' }));
app.post('/jobs', async (req, res) => {
  const job = await queue.add('job', req.body, { removeOnComplete: true, removeOnFail: true });
  res.status(202).json({ id: job.id });
});

let subscriber: Redis | null = null;
const waiting = new Map<string, (reply: string) => void>();
let next = 0;
app.post('/sync', async (req, res) => {
  if (subscriber === null) {
    subscriber = new Redis(process.env.REDIS_URL ?? '');
    subscriber.on('message', (channel: string, reply: string) => waiting.get(channel)?.(reply));
  }
  const id = `sync-${process.pid}-${next++}`;
  const channel = `bare:done:${id}`;
  const reply = new Promise<string>((resolve) => waiting.set(channel, resolve));
  await subscriber.subscribe(channel);
  await queue.add('job', req.body, { jobId: id, removeOnComplete: true, removeOnFail: true });
  const text = await reply;
  waiting.delete(channel);
  void subscriber.unsubscribe(channel);
  res.type('application/json').send(text);
});

const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : ''}`);
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => void queue.close().then(() => redis.quit()).then(() => subscriber?.quit()).then(() => process.exit(0))));
