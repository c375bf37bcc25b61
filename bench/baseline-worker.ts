// The baseline chain's worker: posts each job's body to the fake provider over a keep-alive pool and
// stores the reply; with PUBLISH=1 it also publishes the reply to the job's channel (the bare
// synchronous chain, see baseline-api's `/sync`).
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { Pool } from 'undici';

const redis = new Redis(process.env.REDIS_URL ?? '', { maxRetriesPerRequest: null });
const pool = new Pool(process.env.PROVIDER_URL ?? '', { connections: Number(process.env.CONNECTIONS ?? 64) });
const publish = process.env.PUBLISH === '1';
const worker = new Worker(
  'bare',
  async (job) => {
    const response = await pool.request({ path: '/v1/chat/completions', method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(job.data) });
    const text = await response.body.text();
    const writes = redis.pipeline().set(`bare:reply:${job.id}`, text, 'EX', 3600).incr('bare:done');
    if (publish) writes.publish(`bare:done:${job.id}`, text);
    await writes.exec();
  },
  { connection: redis, prefix: 'bare', concurrency: Number(process.env.CONCURRENCY ?? 50) },
);
worker.on('ready', () => console.log('LISTENING worker'));
process.on('SIGTERM', () => void worker.close().then(() => pool.close()).then(() => redis.quit()).then(() => process.exit(0)));
