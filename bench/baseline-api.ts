// The baseline of the accept and pipeline benchmarks: an express handler that only calls queue.add.
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
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  console.log(`LISTENING ${typeof address === 'object' && address ? address.port : ''}`);
});
server.keepAliveTimeout = 65_000;
process.on('SIGTERM', () => server.close(() => void queue.close().then(() => redis.quit()).then(() => process.exit(0))));
