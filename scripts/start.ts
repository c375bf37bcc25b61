/**
 * `npm start`: the API and the worker in one process, for a laptop. Finds Redis at redis.url, or
 * starts a local redis-server under .data/redis when none answers, or says how to get one.
 */
import { startApi, type ApiRuntime } from '@sluice/api';
import { pingRedis, startTracing } from '@sluice/shared';
import { bootstrap, onShutdown } from '@sluice/engine';
import { redisServerOnPath, startEmbeddedRedis, type EmbeddedRedis } from './embedded-redis.ts';
import { startWorker, type WorkerRuntime } from '@sluice/worker';

const { config, logger } = bootstrap('sluice');

let embedded: EmbeddedRedis | null = null;
const redisUrl = new URL(config.redis.url);
const safeUrl = `${redisUrl.protocol}//${redisUrl.host}`;
// A Redis Cluster (redis.cluster_nodes) is never started locally; its clients wait for it instead.
if (config.redis.cluster_nodes === undefined && !(await pingRedis(config.redis.url))) {
  if (!redisServerOnPath()) {
    console.error(
      `No Redis answers at ${safeUrl} and redis-server is not installed.\n` +
        'Start one with "docker compose up -d redis", or install redis-server (e.g. "apt-get install redis-server"), ' +
        'or point REDIS_URL at a running Redis.',
    );
    process.exit(1);
  }
  try {
    embedded = await startEmbeddedRedis(config.redis.url, '.data/redis');
    logger.info({ redis: safeUrl, dir: embedded.dir }, 'no Redis was running: started a local redis-server (data under .data/redis)');
  } catch (error) {
    console.error(`No Redis answers at ${safeUrl} and starting a local redis-server failed: ${(error as Error).message}`);
    process.exit(1);
  }
}

let api: ApiRuntime | null = null;
let worker: WorkerRuntime | null = null;
// One tracer for both halves (null when tracing is off), flushed last on shutdown.
const tracing = await startTracing(config, { role: 'sluice', logger });
try {
  worker = await startWorker(config, logger.child({ role: 'worker' }), { tracing });
  api = await startApi(config, logger.child({ role: 'api' }), { tracing });
} catch (error) {
  logger.fatal({ err: (error as Error).message }, 'cannot start');
  await embedded?.stop();
  process.exit(1);
}
logger.info(`Sluice is up: ${api.url}  (try: curl ${api.url}/v1/models)`);
// Past the grace period plus a few seconds the process exits whatever it still waits on.
onShutdown(
  logger,
  async () => {
    // Each part closes even when one before it failed (the worker does when Redis is unreachable).
    const failures: unknown[] = [];
    for (const close of [() => api?.close(), () => worker?.close(), () => tracing?.shutdown(), () => embedded?.stop()]) {
      await Promise.resolve(close()).catch((error: unknown) => failures.push(error));
    }
    if (failures.length > 0) throw failures[0];
  },
  { graceMs: config.server.shutdown_grace_s * 1000 },
);
