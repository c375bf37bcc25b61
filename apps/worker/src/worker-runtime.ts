import { createAdapters } from '@sluice/providers';
import { closeConnection, createRedis, logConnectionErrors, startTracing, waitUntilReady, type GatewayConfig, type Logger, type Redis, type Tracing } from '@sluice/shared';
import { closeEngine, openEngine } from '@sluice/engine';
import { startBatchProcessor } from './batch-processor.ts';
import { createCancelRegistry } from './cancel-registry.ts';
import { createDutyLock } from './housekeeping/duty-lock.ts';
import { startHousekeeping } from './housekeeping/housekeeping.ts';
import { createProviderBatcher } from './provider-batches/batcher.ts';
import { startProviderBatchPoller } from './provider-batches/poller.ts';
import { createJobProcessor } from './job-processor.ts';
import { startProviderPools } from './provider-pools.ts';
import { serveWorkerMetrics } from './worker-metrics.ts';
import { startWebhookDeliverer } from './webhook-deliverer.ts';

/** How often a worker writes the queue waits it observed. */
const QUEUE_WAIT_FLUSH_MS = 1_000;

export interface WorkerRuntime {
  /** The tracer (null when tracing is off). */
  tracing: Tracing | null;
  /** Stops taking jobs, lets running ones finish for up to `graceMs`, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

export interface WorkerOptions {
  /**
   * A tracer the caller owns and flushes (`npm start` shares one between the API and the worker).
   * Default: the worker starts its own from `config.telemetry` and flushes it when it closes.
   */
  tracing?: Tracing | null;
}

/**
 * True when `work` ended within `ms`. What has not is left behind, not awaited: with Redis away
 * BullMQ's closes and any command wait for it forever, and the process is about to exit.
 */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([work.then(() => true), late]).finally(() => clearTimeout(timer));
}

/**
 * The worker's two plain connections, the stores' and BullMQ's. Auto-pipelining measured no faster
 * here and half a millisecond slower per job (it defers every command a loop turn), so a job's few
 * writes that go together are corked instead (see the processor).
 */
async function openConnections(config: GatewayConfig, logger: Logger): Promise<{ redis: Redis; queueRedis: Redis }> {
  const redis = createRedis(config.redis, { role: 'worker', connectionName: 'sluice-worker', autoPipelining: false });
  const queueRedis = createRedis(config.redis, { role: 'worker', connectionName: 'sluice-worker-queues', autoPipelining: false });
  for (const connection of [redis, queueRedis]) logConnectionErrors(connection, logger, { connection: connection.options.connectionName });
  await Promise.all([waitUntilReady(redis, 10_000), waitUntilReady(queueRedis, 10_000)]);
  return { redis, queueRedis };
}

/** The worker's tracer (its own, or the one given) and its spans; with tracing off the spans' module is never loaded, and every part gets null. */
async function workerTracing(config: GatewayConfig, logger: Logger, options: WorkerOptions) {
  const tracing = options.tracing === undefined ? await startTracing(config, { role: 'worker', logger }) : options.tracing;
  const spans = tracing === null ? null : (await import('./tracing/worker-spans.ts')).createWorkerSpans(tracing, config);
  return { tracing, spans };
}

/** Starts one BullMQ Worker per enabled provider (its pool) and the housekeeping loop, on one Redis connection. */
export async function startWorker(config: GatewayConfig, logger: Logger, options: WorkerOptions = {}): Promise<WorkerRuntime> {
  const { redis, queueRedis } = await openConnections(config, logger);
  const prefix = config.redis.prefix;
  const { tracing, spans } = await workerTracing(config, logger, options);
  const adapters = createAdapters(config);
  // Disabled providers (no key) have no adapter and so no pool; routing never sends them jobs.
  const providers = [...adapters.keys()].filter((id) => config.providers[id] !== undefined);
  const engine = openEngine(config, redis, logger, providers, { queueRedis });
  const cancels = await createCancelRegistry(redis, prefix, logger);
  const lock = createDutyLock(redis, prefix);
  const housekeeping = startHousekeeping({ ...engine, redis, adapters, providers, lock });
  const batchPoller = await startProviderBatchPoller(engine, queueRedis, createProviderBatcher({ ...engine, adapters, lock, spans }));
  const processJob = createJobProcessor({ ...engine, adapters, cancels, spans, onCircuitOpened: (provider) => void housekeeping.circuitOpened(provider) });

  const workers = startProviderPools(engine, queueRedis, providers, processJob);
  const deliverer = startWebhookDeliverer({ ...engine, queueRedis, spans });
  const batchProcessor = startBatchProcessor({ ...engine, queueRedis });
  const metricsServer = config.metrics.worker_port === undefined ? null : await serveWorkerMetrics(config, logger);
  // Queue waits are added up in memory as jobs are claimed and written once a second.
  const flushWaits = (): Promise<void> => engine.queueWaits.flush().catch((error: Error) => logger.warn({ err: error.message }, 'could not write queue-wait stats; they are dropped'));
  const waitFlusher = setInterval(() => void flushWaits(), QUEUE_WAIT_FLUSH_MS);
  logger.info({ providers }, 'worker pools started');

  return {
    tracing,
    async close(graceMs = config.server.shutdown_grace_s * 1000) {
      logger.info({ grace_ms: graceMs }, 'worker stopping: finishing running jobs');
      const deadline = Date.now() + graceMs;
      const drained = await within(Promise.all(workers.map((worker) => worker.close())), graceMs);
      const reachable = redis.status === 'ready' && queueRedis.status === 'ready';
      // Past the grace period the running jobs are left to BullMQ's stall recovery on another worker.
      // (`worker.close(true)` cannot cut the wait short: BullMQ closes a worker once, as first asked.)
      if (!drained && reachable) logger.warn('grace period over: closing without waiting further; jobs still running will be re-run after their lock expires');
      if (!reachable) logger.warn({ drained }, 'Redis unreachable: closing without it; running jobs are left to stall recovery');
      metricsServer?.close();
      // The rest ends in-flight work that needs Redis: given what is left of the grace (at least 1 s).
      const rest = (async () => {
        clearInterval(waitFlusher);
        await flushWaits();
        await housekeeping.stop();
        await batchPoller.close();
        await deliverer.close();
        await batchProcessor.close();
        await cancels.close();
        await closeEngine(engine);
        await Promise.all([...adapters.values()].map((adapter) => adapter.close()));
      })();
      await within(rest, reachable ? Math.max(deadline - Date.now(), 1_000) : 0);
      await Promise.all([redis, queueRedis].map((connection) => closeConnection(connection)));
      if (options.tracing === undefined) await tracing?.shutdown();
      if (!reachable) throw new Error('closed without Redis (unreachable); running jobs are left to stall recovery');
      logger.info('worker stopped');
    },
  };
}
