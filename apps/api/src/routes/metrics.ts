import { Router, type RequestHandler } from 'express';
import { getMetrics, knownTenants, metricsRegistry, redisMemory, type Redis } from '@sluice/shared';
import { CIRCUIT_STATE_VALUE, type Engine } from '@sluice/engine';
import type { ApiDeps } from '../deps.ts';
import { requireAdmin, requireAuth } from '../middleware/auth.ts';

/** What this router uses of the API's dependencies. */
type MetricsDeps = Pick<ApiDeps, 'auth' | 'config' | 'redis' | 'queues' | 'deadLetters' | 'webhooks' | 'batchQueue' | 'breaker' | 'tenantJobs'>;

const SAMPLE = 200;

/** Reads the shared state that gauges show (queues, circuits, dead letters) from Redis, at scrape time. */
async function collectGauges(services: Pick<Engine, 'queues' | 'deadLetters' | 'webhooks' | 'batchQueue' | 'breaker'>): Promise<void> {
  const metrics = getMetrics();
  const queues = [...services.queues.values(), services.deadLetters, services.webhooks, services.batchQueue];
  const now = Date.now();
  await Promise.all(
    queues.map(async (queue) => {
      const name = queue.name.replace(/^\{|\}$/g, '');
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active', 'failed');
      for (const [state, count] of Object.entries(counts)) metrics.queueJobs.set({ queue: name, state }, count);
      const next = [...(await queue.getJobs(['prioritized'], 0, SAMPLE - 1)), ...(await queue.getJobs(['wait'], 0, SAMPLE - 1))];
      const oldest = Math.min(...next.filter((job) => job !== undefined).map((job) => job.timestamp));
      metrics.oldestWaiting.set({ queue: name }, Number.isFinite(oldest) ? Math.max(0, (now - oldest) / 1000) : 0);
    }),
  );
  const providers = [...services.queues.keys()];
  for (const [provider, state] of await services.breaker.states(providers)) metrics.circuitState.set({ provider }, CIRCUIT_STATE_VALUE[state]);
  const letters = await services.deadLetters.getJobCounts('waiting', 'prioritized', 'delayed');
  metrics.deadLetters.set(Object.values(letters).reduce((sum, count) => sum + count, 0));
}

/**
 * Jobs queued now of the `metrics.top_tenants` tenants with the most (ties: most running, then by
 * name): one series per tenant shown, never one per tenant the config knows.
 */
async function collectTenantGauges(deps: Pick<MetricsDeps, 'config' | 'tenantJobs'>): Promise<void> {
  const counts = await deps.tenantJobs.counts(knownTenants(deps.config));
  const top = [...counts].sort(([a, x], [b, y]) => y.queued - x.queued || y.running - x.running || a.localeCompare(b)).slice(0, deps.config.metrics.top_tenants);
  const gauge = getMetrics().tenantJobsQueued;
  gauge.reset();
  for (const [tenant, { queued }] of top) gauge.set({ tenant }, queued);
}

/** Memory used and `maxmemory` of the Redis server (each master of a Cluster), from `INFO memory`. */
async function collectRedisMemory(redis: Redis): Promise<void> {
  const { redisUsedMemory, redisMaxMemory } = getMetrics();
  const servers = await redisMemory(redis);
  redisUsedMemory.reset();
  redisMaxMemory.reset();
  for (const { node, usedBytes, maxBytes } of servers) {
    redisUsedMemory.set({ node }, usedBytes);
    redisMaxMemory.set({ node }, maxBytes);
  }
}

/** `GET /metrics` in Prometheus text format; needs an admin key unless `metrics.public`. */
export function metricsRouter(deps: MetricsDeps): Router {
  const router = Router();
  const guard: RequestHandler[] = deps.config.metrics.public ? [] : [requireAuth(deps.auth), requireAdmin];
  router.get('/metrics', ...guard, async (_req, res) => {
    await Promise.all([collectGauges(deps), collectTenantGauges(deps), collectRedisMemory(deps.redis)]);
    res.setHeader('content-type', metricsRegistry.contentType);
    res.send(await metricsRegistry.metrics());
  });
  return router;
}
