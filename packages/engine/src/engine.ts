import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseByteSize, principalFor, webhookLimitPerTenant, type GatewayConfig } from '@sluice/shared';
import { createJobStore, type JobStore } from './jobs/job-store.ts';
import type { Logger } from '@sluice/shared';
import { isCluster } from '@sluice/shared';
import { exceptConnectionErrors } from '@sluice/shared';
import { createPriceLookup, type PriceLookup } from './pricing/prices.ts';
import { Lifecycle } from './lifecycle/lifecycle.ts';
import { DeferredStore } from './deferred/deferred-store.ts';
import { createSucceeder } from './lifecycle/succeed.ts';
import { createBatchStore, type BatchStore } from './batches/batch-store.ts';
import { createFileStore, type FileStore } from './files/file-store.ts';
import { createUsageStore, type UsageStore } from './usage/usage-store.ts';
import { createResponseCache, type ResponseCache } from './cache/response-cache.ts';
import { createDeadLetterStore, type DeadLetterStore } from './queues/dead-letters.ts';
import { createDeliverySlots, type DeliverySlots } from './webhooks/delivery-slots.ts';
import { createFailedDeliveryStore, type FailedDeliveryStore } from './webhooks/failed-deliveries.ts';
import type { QueuedJobData } from './queues/payloads.ts';
import { EntryWriter } from './queues/entries.ts';
import { BATCH_QUEUE, DEAD_LETTER_QUEUE, WEBHOOK_QUEUE, openProviderQueue, openQueue } from './queues/queues.ts';
import { createBreaker, type Breaker } from './reliability/breaker.ts';
import { createCircuitView, type CircuitView } from './reliability/circuit-view.ts';
import { createRateLimiter, type RateLimiter } from './reliability/rate-limiter.ts';
import { createSpendLedger, type SpendLedger } from './reliability/spend.ts';
import { createTenantJobs, type TenantJobs } from './tenants/tenant-jobs.ts';
import { createQueueWaits, type QueueWaits } from './tenants/queue-waits.ts';

/**
 * The engine as a process opens it: the stores, the queues, the reliability state and the lifecycle,
 * on one Redis connection. Only composition roots (the API's and the worker's runtime) hold it whole;
 * every part they build declares the few of these it uses (`Pick<Engine, ...>`).
 */
export interface Engine {
  config: GatewayConfig;
  /** The connection of the job, batch, file and usage stores. */
  redis: Redis;
  /**
   * True when the stores and the queues share one connection to one server: a record and its queue
   * entry can then be sent together, in order, without waiting for the first.
   */
  orderedWrites: boolean;
  store: JobStore;
  /** A producer per provider queue, by provider id. */
  queues: ReadonlyMap<string, Queue<QueuedJobData>>;
  /** Writes entries on the provider queues, placed by fair share between tenants. */
  entries: EntryWriter;
  deadLetters: Queue;
  /** Jobs that failed for good, listed per tenant (mirrored in `deadLetters` for Bull Board). */
  letters: DeadLetterStore;
  /** Deliveries of signed webhooks. */
  webhooks: Queue;
  /** Deliveries that used up their retries, kept for listing and redelivery. */
  failedDeliveries: FailedDeliveryStore;
  /** Each tenant's webhook deliveries in flight, bounded across every worker process. */
  deliverySlots: DeliverySlots;
  /** Batch expansion, cancellation and finalizing. */
  batchQueue: Queue;
  batches: BatchStore;
  files: FileStore;
  usage: UsageStore;
  price: PriceLookup;
  breaker: Breaker;
  circuits: CircuitView;
  limiter: RateLimiter;
  spend: SpendLedger;
  /** Jobs deferred to providers' batch APIs, and the submissions they are in. */
  deferred: DeferredStore;
  /** Answers stored per tenant for jobs that ask for caching. */
  cache: ResponseCache;
  /** Each tenant's queued and running jobs: counted, and admitted against a key's `max_queued_jobs`. */
  tenantJobs: TenantJobs;
  /** Each tenant's queue waits (submit to first claim), added up by workers, read per minute. */
  queueWaits: QueueWaits;
  /** The job's transitions: the only writer of job records. */
  lifecycle: Lifecycle;
  logger: Logger;
}

/**
 * Each tenant's fair-share weight (its first key's; 1 for a tenant no key names), divided by the
 * smallest weight below 1, so no tenant's entries are spread further apart than one tag each.
 */
function tenantWeights(config: GatewayConfig): (tenant: string) => number {
  const weights = new Map(config.auth.keys.map((key) => [key.tenant, principalFor(config, key.tenant).weight]));
  const smallest = Math.min(1, ...weights.values());
  return (tenant) => (weights.get(tenant) ?? 1) / smallest;
}

/**
 * A delivery is cut off at `webhooks.timeout_ms`; its slot's lease lasts this much longer, for the
 * Redis round trips around the request and a busy event loop. It matters only when a worker dies.
 */
const DELIVERY_LEASE_MARGIN_MS = 5_000;

/**
 * Opens the engine for `providers` (the API: every configured one; a worker: the enabled ones).
 * `queueRedis` carries the BullMQ queues when they should not share the stores' connection;
 * `writeRedis` is where new job records are written (the API puts them with the queues).
 */
export function openEngine(
  config: GatewayConfig,
  redis: Redis,
  logger: Logger,
  providers: readonly string[],
  connections: { queueRedis?: Redis; writeRedis?: Redis } = {},
): Engine {
  const queueRedis = connections.queueRedis ?? redis;
  const writeRedis = connections.writeRedis ?? redis;
  const prefix = config.redis.prefix;
  const queues = new Map(providers.map((id) => [id, openProviderQueue(queueRedis, prefix, id)]));
  const deadLetters = openQueue(queueRedis, prefix, DEAD_LETTER_QUEUE);
  const webhooks = openQueue(queueRedis, prefix, WEBHOOK_QUEUE);
  const batchQueue = openQueue(queueRedis, prefix, BATCH_QUEUE);
  for (const queue of [...queues.values(), deadLetters, webhooks, batchQueue]) queue.on('error', exceptConnectionErrors(queueRedis, logger, (error) => logger.warn({ err: error.message, queue: queue.name }, 'queue error')));
  const breaker = createBreaker(redis, prefix, config.breaker);
  const streams = { retentionSeconds: config.jobs.stream_retention_s };
  const parts = {
    config,
    redis,
    orderedWrites: queueRedis === writeRedis && !isCluster(writeRedis),
    store: createJobStore(redis, { prefix, retentionSeconds: config.jobs.retention_s, writeRedis, streams }),
    queues,
    entries: new EntryWriter(queueRedis, prefix, queues, tenantWeights(config)),
    deadLetters,
    letters: createDeadLetterStore(redis, deadLetters, { prefix, retentionSeconds: config.jobs.retention_s, maxPerTenant: config.jobs.max_dead_letters_per_tenant }),
    webhooks,
    failedDeliveries: createFailedDeliveryStore(redis, { prefix, retentionSeconds: config.webhooks.failed_retention_s, maxPerTenant: config.webhooks.max_failed_per_tenant }),
    deliverySlots: createDeliverySlots(redis, { prefix, limit: webhookLimitPerTenant(config.webhooks), leaseMs: config.webhooks.timeout_ms + DELIVERY_LEASE_MARGIN_MS }),
    batchQueue,
    batches: createBatchStore(redis, prefix, config.jobs.retention_s),
    files: createFileStore(redis, prefix, config.jobs.retention_s),
    usage: createUsageStore(redis, prefix, config.jobs.usage_retention_days * 86_400),
    price: createPriceLookup(config),
    breaker,
    circuits: createCircuitView(breaker, providers),
    limiter: createRateLimiter(redis, prefix),
    spend: createSpendLedger(redis, prefix),
    cache: createResponseCache(redis, { prefix, maxPerTenant: config.jobs.max_cache_entries_per_tenant, maxEntryBytes: parseByteSize(config.server.body_limit) }),
    tenantJobs: createTenantJobs(redis, prefix),
    queueWaits: createQueueWaits(redis, prefix),
    logger,
  };
  const deferred = new DeferredStore(redis, prefix);
  const lifecycle = new Lifecycle({ ...parts, deferred, succeeder: createSucceeder(redis, prefix, config.jobs.usage_retention_days * 86_400, streams) });
  return { ...parts, deferred, lifecycle };
}

/** Closes the queues the engine opened (not the Redis connection, which the caller owns). */
export async function closeEngine(engine: Pick<Engine, 'queues' | 'deadLetters' | 'webhooks' | 'batchQueue'>): Promise<void> {
  await Promise.all([...engine.queues.values(), engine.deadLetters, engine.webhooks, engine.batchQueue].map((queue) => queue.close()));
}
