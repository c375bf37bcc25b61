import { Counter, Gauge, Histogram, register, type Registry } from 'prom-client';

/**
 * The process's Prometheus metrics (README "Operating it"), defined once per process on prom-client's
 * default registry. Counters move where the work happens (workers, API); gauges of shared state
 * (queues, circuits, dead letters, Redis memory) are read from Redis when scraped.
 */
function define() {
  return {
    jobs: new Counter({ name: 'sluice_jobs_total', help: 'Jobs that reached a terminal status', labelNames: ['status', 'provider', 'tier'] as const }),
    queueWait: new Histogram({
      name: 'sluice_job_queue_wait_seconds', help: 'Time from enqueue to the provider call', labelNames: ['provider'] as const,
      buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600],
    }),
    providerLatency: new Histogram({
      name: 'sluice_provider_latency_seconds', help: 'Provider call latency', labelNames: ['provider'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    }),
    providerTtft: new Histogram({
      name: 'sluice_provider_ttft_seconds', help: 'Time from a streamed provider call to its first chunk', labelNames: ['provider'] as const,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    }),
    streamsOpen: new Gauge({
      name: 'sluice_streams_open', help: 'Streams open now: provider streams a worker reads (side=provider), client streams an API relays (side=client)', labelNames: ['side'] as const,
    }),
    providerRequests: new Counter({ name: 'sluice_provider_requests_total', help: 'Provider calls by outcome', labelNames: ['provider', 'outcome'] as const }),
    circuitState: new Gauge({ name: 'sluice_provider_circuit_state', help: 'Circuit state: 0 closed, 1 half-open, 2 open', labelNames: ['provider'] as const }),
    queueJobs: new Gauge({ name: 'sluice_queue_jobs', help: 'Jobs in each queue by state', labelNames: ['queue', 'state'] as const }),
    oldestWaiting: new Gauge({ name: 'sluice_queue_oldest_waiting_seconds', help: 'Age of the oldest job waiting to run (sampled from the next 200 per state)', labelNames: ['queue'] as const }),
    tokens: new Counter({ name: 'sluice_tokens_total', help: 'Tokens of succeeded jobs', labelNames: ['provider', 'model', 'kind'] as const }),
    cost: new Counter({ name: 'sluice_cost_usd_total', help: 'USD cost of succeeded jobs', labelNames: ['provider', 'model', 'tenant'] as const }),
    failovers: new Counter({ name: 'sluice_failovers_total', help: 'Jobs moved to another target', labelNames: ['from', 'to', 'reason'] as const }),
    webhookDeliveries: new Counter({ name: 'sluice_webhook_deliveries_total', help: 'Webhook delivery attempts by outcome', labelNames: ['outcome'] as const }),
    webhookDeferred: new Counter({
      name: 'sluice_webhook_deferred_total', help: 'Webhook deliveries put back to wait without spending an attempt (tenant_limit: the tenant had its most deliveries in flight)', labelNames: ['reason'] as const,
    }),
    deadLetters: new Gauge({ name: 'sluice_dead_letter_jobs', help: 'Jobs in the dead-letter queue' }),
    tenantJobsQueued: new Gauge({
      name: 'sluice_tenant_jobs_queued', help: 'Jobs queued now (not yet running) of the tenants with the most, at most metrics.top_tenants of them', labelNames: ['tenant'] as const,
    }),
    saved: new Counter({
      name: 'sluice_saved_usd_total', help: 'USD saved against the real-time price (provider batches, flex, response cache hits)', labelNames: ['provider', 'model', 'tenant', 'mode'] as const,
    }),
    cacheLookups: new Counter({ name: 'sluice_cache_lookups_total', help: 'Response cache lookups of jobs that asked for caching', labelNames: ['outcome'] as const }),
    wasted: new Counter({ name: 'sluice_wasted_usd_total', help: 'USD billed for provider batch results discarded because the job had run otherwise', labelNames: ['provider', 'tenant'] as const }),
    deferredJobs: new Gauge({ name: 'sluice_deferred_jobs', help: 'Jobs waiting for or inside a provider batch', labelNames: ['provider'] as const }),
    providerBatches: new Gauge({ name: 'sluice_provider_batches', help: 'Open provider batches by state', labelNames: ['provider', 'state'] as const }),
    redisUsedMemory: new Gauge({ name: 'sluice_redis_used_memory_bytes', help: 'Bytes Redis has allocated (INFO used_memory), per server', labelNames: ['node'] as const }),
    redisMaxMemory: new Gauge({ name: 'sluice_redis_maxmemory_bytes', help: 'Redis maxmemory, per server: past it Redis refuses writes (noeviction); 0 when unset', labelNames: ['node'] as const }),
    orphanedEntries: new Counter({
      name: 'sluice_orphaned_queue_entries_total', help: 'Queue entries whose job record was gone (should stay 0: a record outlives its deadline)', labelNames: ['provider'] as const,
    }),
  };
}

export type SluiceMetrics = ReturnType<typeof define>;

let metrics: SluiceMetrics | null = null;

/** The process-wide metrics (created on first use). */
export function getMetrics(): SluiceMetrics {
  metrics ??= define();
  return metrics;
}

export const metricsRegistry: Registry = register;
