import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { Worker, type Job } from 'bullmq';
import { createAdapters } from '@sluice/providers';
import { closeConnection, createAuthenticator, createRedis, exceptConnectionErrors, keyFromAuthorization, logConnectionErrors, metricsRegistry, waitUntilReady, type GatewayConfig, type Logger } from '@sluice/shared';
import { attemptOf, bullQueueName, closeEngine, isTerminal, openEngine, providerQueueName, type Engine, type QueuedJobData } from '@sluice/engine';
import { startBatchProcessor } from './batch-processor.ts';
import { createCancelRegistry } from './cancel-registry.ts';
import { createDutyLock } from './housekeeping/duty-lock.ts';
import { startHousekeeping } from './housekeeping/housekeeping.ts';
import { createJobProcessor } from './job-processor.ts';
import { startWebhookDeliverer } from './webhook-deliverer.ts';

export interface WorkerRuntime {
  /** Stops taking jobs, lets running ones finish for up to `graceMs`, then closes every connection. */
  close(graceMs?: number): Promise<void>;
}

/** Starts one BullMQ Worker per enabled provider (its pool) and the housekeeping loop, on one Redis connection. */
export async function startWorker(config: GatewayConfig, logger: Logger): Promise<WorkerRuntime> {
  // Two plain connections, the stores' and BullMQ's. Auto-pipelining measured no faster here and
  // half a millisecond slower per job (it defers every command a loop turn), so a job's few writes
  // that go together are corked instead (see the processor).
  const redis = createRedis(config.redis, { role: 'worker', connectionName: 'sluice-worker', autoPipelining: false });
  const queueRedis = createRedis(config.redis, { role: 'worker', connectionName: 'sluice-worker-queues', autoPipelining: false });
  for (const connection of [redis, queueRedis]) logConnectionErrors(connection, logger, { connection: connection.options.connectionName });
  await Promise.all([waitUntilReady(redis, 10_000), waitUntilReady(queueRedis, 10_000)]);
  const prefix = config.redis.prefix;
  const adapters = createAdapters(config);
  // Disabled providers (no key) have no adapter and so no pool; routing never sends them jobs.
  const providers = [...adapters.keys()].filter((id) => config.providers[id] !== undefined);
  const engine = openEngine(config, redis, logger, providers, { queueRedis });
  const cancels = await createCancelRegistry(redis, prefix, logger);
  const housekeeping = startHousekeeping({ ...engine, redis, adapters, providers, lock: createDutyLock(redis, prefix) });
  const processJob = createJobProcessor({ ...engine, adapters, cancels, onCircuitOpened: (provider) => void housekeeping.circuitOpened(provider) });

  const workers = providers.map((id) => {
    const worker = new Worker<QueuedJobData>(bullQueueName(providerQueueName(id)), processJob, {
      connection: queueRedis,
      prefix,
      concurrency: config.providers[id]?.concurrency ?? 1,
      lockDuration: config.jobs.lock_duration_ms,
      stalledInterval: config.jobs.stalled_interval_ms,
      // A job whose worker dies twice mid-call (a poison request, say) fails the entry: BullMQ re-runs
      // it once after a death, and the failed handler moves the job to its next target after the second.
      maxStalledCount: 1,
      // Never reached: rpm/tpm are our sliding windows. BullMQ honours queue.rateLimit() (a provider's
      // 429 pausing the whole queue) only on queues that have a limiter.
      limiter: { max: 1_000_000_000, duration: 1000 },
    });
    worker.on('error', exceptConnectionErrors(queueRedis, logger, (error) => logger.error({ err: error.message, provider: id }, 'worker error')));
    worker.on('failed', (job, error) => {
      if (job !== undefined) void recoverFailedEntry(engine, job, error);
    });
    return worker;
  });
  const deliverer = startWebhookDeliverer({ ...engine, queueRedis });
  const batchProcessor = startBatchProcessor({ ...engine, queueRedis });
  const metricsServer = config.metrics.worker_port === undefined ? null : await serveWorkerMetrics(config, logger);
  logger.info({ providers }, 'worker pools started');

  return {
    async close(graceMs = config.server.shutdown_grace_s * 1000) {
      logger.info({ grace_ms: graceMs }, 'worker stopping: finishing running jobs');
      const deadline = Date.now() + graceMs;
      // True when `work` ended within `ms`. What has not is left behind, not awaited: with Redis away
      // BullMQ's closes and any command wait for it forever, and the process is about to exit.
      const within = (work: Promise<unknown>, ms: number): Promise<boolean> => {
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
        return Promise.race([work.then(() => true), late]).finally(() => clearTimeout(timer));
      };
      const drained = await within(Promise.all(workers.map((worker) => worker.close())), graceMs);
      const reachable = redis.status === 'ready' && queueRedis.status === 'ready';
      // Past the grace period the running jobs are left to BullMQ's stall recovery on another worker.
      // (`worker.close(true)` cannot cut the wait short: BullMQ closes a worker once, as first asked.)
      if (!drained && reachable) logger.warn('grace period over: closing without waiting further; jobs still running will be re-run after their lock expires');
      if (!reachable) logger.warn({ drained }, 'Redis unreachable: closing without it; running jobs are left to stall recovery');
      metricsServer?.close();
      // The rest ends in-flight work that needs Redis: given what is left of the grace (at least 1 s).
      const rest = (async () => {
        await housekeeping.stop();
        await deliverer.close();
        await batchProcessor.close();
        await cancels.close();
        await closeEngine(engine);
        await Promise.all([...adapters.values()].map((adapter) => adapter.close()));
      })();
      await within(rest, reachable ? Math.max(deadline - Date.now(), 1_000) : 0);
      await Promise.all([redis, queueRedis].map((connection) => closeConnection(connection)));
      if (!reachable) throw new Error('closed without Redis (unreachable); running jobs are left to stall recovery');
      logger.info('worker stopped');
    },
  };
}

/**
 * An entry BullMQ failed itself (its worker died mid-call twice, or the processor hit an error of its
 * own): the job must not stay `running` forever, so it moves on as if this target were used up.
 */
async function recoverFailedEntry(engine: Pick<Engine, 'store' | 'lifecycle' | 'logger'>, job: Job<QueuedJobData>, error: Error): Promise<void> {
  try {
    const record = await engine.store.get(job.data.id);
    if (record === null || isTerminal(record.status) || record.queue_job_id !== job.id) return;
    engine.logger.error({ job_id: record.id, tenant: record.tenant, err: error.message }, 'queue entry failed outside the provider call; moving the job on');
    // Workers dying in the call again and again (BullMQ's stall limit) mark a request that kills
    // them: that target is not tried again. Any other failure of the entry (an error of ours, say)
    // only uses up the target for this round.
    const stalled = /stalled more than allowable limit/i.test(error.message);
    const candidate = record.routing.candidates[record.target];
    if (stalled && record.status === 'running' && record.running_since !== null && candidate !== undefined) {
      // Its worker died in the call (BullMQ gave up on the entry): the call is on the job's history.
      const attempt = attemptOf(candidate, record.running_since, Date.now() - record.running_since, 'interrupted', null, `worker stopped during the call (${error.message})`);
      await engine.lifecycle.noteAttempt(record, attempt);
    }
    await engine.lifecycle.failover(record, { reason: stalled ? 'worker_lost' : 'entry_failed', exhaust: true, refuse: stalled, guard: record.queue_job_id, lastError: error.message });
  } catch (caught) {
    engine.logger.error({ job_id: job.data.id, err: (caught as Error).message }, 'could not recover a failed queue entry; the expiry sweep will end it');
  }
}

/** A worker's own counters at `/metrics` on `metrics.worker_port` (scrape every worker process). */
async function serveWorkerMetrics(config: GatewayConfig, logger: Logger): Promise<Server> {
  const auth = createAuthenticator(config);
  const json = (res: ServerResponse, status: number, type: string, code: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type, code, message, param: null } }));
  };
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    // The same rule as the API's /metrics: an admin key unless metrics.public (it names tenants).
    if (!config.metrics.public && !auth.disabled) {
      const key = keyFromAuthorization(req.headers.authorization);
      const principal = key === '' ? null : auth.authenticate(key);
      if (principal === null) return json(res, 401, 'authentication_error', key === '' ? 'missing_api_key' : 'invalid_api_key', 'This endpoint needs an admin key');
      if (principal.role !== 'admin') return json(res, 403, 'permission_error', 'admin_required', 'This endpoint needs an admin key');
    }
    void metricsRegistry.metrics().then((text) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text));
  });
  const { host } = config.server;
  const port = config.metrics.worker_port ?? 0;
  server.listen(port, host);
  await once(server, 'listening');
  logger.info({ address: server.address() }, 'worker metrics listening');
  return server;
}
