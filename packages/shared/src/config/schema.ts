import { z } from 'zod';
import { ModelPriceSchema } from './model-price.ts';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', '::1', 'localhost']);

/** Sizes like `1mb`, `512kb` or a byte count. */
const ByteSizeSchema = z.union([z.number().int().positive(), z.string().regex(/^\d+(\.\d+)?\s*(b|kb|mb|gb)$/i, 'expected a size like 1mb')]);

export const RetrySchema = z
  .object({
    /** Attempts on one target before failing over. Default 3. */
    attempts: z.number().int().min(1).max(20).default(3),
    /** First backoff; doubled per attempt, with jitter. Default 1000. */
    backoff_ms: z.number().int().min(0).default(1000),
    /** Backoff ceiling. Default 60000. */
    max_backoff_ms: z.number().int().min(0).default(60_000),
  })
  .strict();

/**
 * Deferring work that can wait to the provider's batch API (about half price). Only types with a
 * batch API take it; off unless `enabled`.
 */
export const BatchSettingsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** A provider batch is submitted once this many deferred jobs wait for one provider and model. Default 50000. */
    max_requests: z.number().int().min(1).max(100_000).default(50_000),
    /** ... or once the oldest has waited this long. Default 60. */
    max_wait_s: z.number().positive().default(60),
    /** How often open provider batches are polled. Default 30. */
    poll_interval_s: z.number().positive().default(30),
    /** Only jobs whose deadline is at least this far away are deferred. Default 7200. */
    min_lead_s: z.number().min(0).default(7200),
    /** A job still in an unfinished provider batch this long before its deadline runs in real time instead. Default 3600. */
    fallback_before_s: z.number().min(0).default(3600),
  })
  .strict();
export type BatchSettings = z.infer<typeof BatchSettingsSchema>;

/** The provider's cheaper, slower real-time tier (`service_tier: "flex"`) for the listed models. */
export const FlexSettingsSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Models that take the flex tier. */
    models: z.array(z.string().min(1)).default([]),
    /** A flex call's limit (flex answers slower). Default 900000. */
    timeout_ms: z.number().int().positive().default(900_000),
  })
  .strict();
export type FlexSettings = z.infer<typeof FlexSettingsSchema>;

/**
 * What every provider entry takes, whatever its type. Each provider type's own schema (in its folder
 * of `@sluice/providers`) extends this with a literal `type`, its defaults and its own fields, and
 * is strict; the registry there joins them into the schema of one `providers.<id>` entry.
 */
export const ProviderCommonSchema = z.object({
  /** The provider type (wire format); the registry of `@sluice/providers` lists them. */
  type: z.string(),
  base_url: z.url({ protocol: /^https?$/ }).optional(),
  api_key: z.string().optional(),
  /** One HTTP attempt's limit. Default 60000. */
  timeout_ms: z.number().int().positive().default(60_000),
  /**
   * Jobs one worker process runs at once for this provider (and its keep-alive connections to it).
   * Default 8; up to 10,000, since a slow provider's calls mostly wait.
   */
  concurrency: z.number().int().min(1).max(10_000).default(8),
  /** Requests per `rate_window_s`, across every worker process (a sliding window). */
  rpm: z.number().int().positive().optional(),
  /** Tokens per `rate_window_s`: charged with each job's estimate, corrected with real usage. */
  tpm: z.number().int().positive().optional(),
  /** The window `rpm` and `tpm` are counted over. Default 60 (shorter only to test). */
  rate_window_s: z.number().positive().default(60),
  headers: z.record(z.string(), z.string()).default({}),
  retry: RetrySchema.prefault({}),
  /** Largest prompt + completion, in tokens, for context-length routing. */
  context_window: z.number().int().positive().optional(),
  batch: BatchSettingsSchema.prefault({}),
  flex: FlexSettingsSchema.prefault({}),
});

/** A validated provider entry as the rest of Sluice sees it: the fields every type has. */
export type ProviderConfig = z.infer<typeof ProviderCommonSchema>;
/** A provider entry as written: the common fields, plus whatever its type adds. */
export type ProviderConfigInput = z.input<typeof ProviderCommonSchema> & Record<string, unknown>;
/** Validates one `providers.<id>` entry: the union of every provider type's schema, from the registry. */
export type ProviderEntrySchema = z.ZodType<ProviderConfig, ProviderConfigInput>;

/** A Standard Webhooks signing secret: `whsec_` + base64 of the key. */
const WEBHOOK_SECRET = /^whsec_[A-Za-z0-9+/]{16,}={0,2}$/;

/** An optional webhook secret; empty (its variable unset) means none. */
const optionalSecret = z.preprocess((value) => (value === '' ? undefined : value), z.string().regex(WEBHOOK_SECRET, 'expected "whsec_" followed by base64').optional());

const TargetSchema = z.string().regex(/^[a-z0-9][a-z0-9_-]*\/.+$/i, 'expected "provider/model"');

/** The longest a response may stay in the response cache: 30 days. */
export const MAX_CACHE_TTL_S = 30 * 86_400;

export const RouteSchema = z.union([
  z.array(TargetSchema).min(1),
  z
    .object({
      strategy: z.enum(['ordered', 'cheapest']).default('ordered'),
      targets: z.array(TargetSchema).min(1),
      /** Caches this route's answers for this long unless a request's own `cache.ttl_s` says otherwise. */
      cache_ttl_s: z.number().int().min(1).max(MAX_CACHE_TTL_S).optional(),
    })
    .strict(),
]);

export const AuthKeySchema = z
  .object({
    key: z.string().min(1, 'must not be empty (is its environment variable set?)').optional(),
    key_sha256: z.string().regex(/^[0-9a-f]{64}$/i, 'expected 64 hex characters').optional(),
    tenant: z.string().regex(/^[a-zA-Z0-9_.-]{1,64}$/, 'expected 1-64 letters, digits, "_", "." or "-"'),
    role: z.enum(['admin', 'tenant']).default('tenant'),
    rpm: z.number().int().positive().optional(),
    monthly_budget_usd: z.number().nonnegative().optional(),
    /** When a job's usual target would pass the budget: `reject` it (429), or route it `economy` (cheapest target that fits). Default reject. */
    over_budget: z.enum(['reject', 'economy']).default('reject'),
    /** Signs this tenant's webhooks instead of `webhooks.secret`. */
    webhook_secret: optionalSecret,
    /**
     * A key with a `monthly_budget_usd` may not run targets without a price (their cost would be
     * invisible to the budget) unless this is true. Default false.
     */
    allow_unpriced: z.boolean().default(false),
    /** Bytes of uploaded files this tenant may hold at once. Default `server.max_file_bytes_per_tenant`. */
    max_file_bytes: ByteSizeSchema.optional(),
    /** This tenant's share of each provider queue against other tenants' (fair share within a priority class). Default 1. */
    weight: z.number().min(0.1).max(100).default(1),
    /** The highest priority class this tenant's jobs may ask for. Default high (any). */
    max_priority: z.enum(['high', 'normal', 'low']).default('high'),
    /** Jobs this tenant may have queued or running at once, across every process; past it, 429. Default no cap. */
    max_queued_jobs: z.number().int().min(1).optional(),
  })
  .strict()
  .refine((k) => (k.key === undefined) !== (k.key_sha256 === undefined), 'give exactly one of key or key_sha256');

const ServerConfigSchema = z
  .object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8080),
    body_limit: ByteSizeSchema.default('1mb'),
    /** Largest file `POST /v1/files` takes. Default 100mb. */
    file_limit: ByteSizeSchema.default('100mb'),
    sync_timeout_s: z.number().positive().default(300),
    /** How long SIGTERM waits for running jobs. Default 30. */
    shutdown_grace_s: z.number().positive().default(30),
    /** Open long-polls, event streams and synchronous calls per tenant, per API process; past it, 429. Default 1000. */
    max_waiters_per_tenant: z.number().int().min(1).default(1000),
    /** Uploads one tenant may have in progress at once, across API processes; past it, 429. Default 4. */
    max_uploads_per_tenant: z.number().int().min(1).default(4),
    /** Bytes of uploaded files a tenant may hold at once, unless its key says `max_file_bytes`. Default 1gb. */
    max_file_bytes_per_tenant: ByteSizeSchema.default('1gb'),
    /** Deepest nesting of arrays and objects a JSON body may have; deeper is a 400. Default 64. */
    max_json_depth: z.number().int().min(8).max(10_000).default(64),
  })
  .strict();

const RedisConfigSchema = z
  .object({
    url: z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL').default('redis://127.0.0.1:6379'),
    prefix: z.string().regex(/^[a-zA-Z0-9_-]+$/, 'expected letters, digits, "_" or "-"').default('sluice'),
    /** Seed nodes of a Redis Cluster (`redis://host:port`); when given, `url` is not used. */
    cluster_nodes: z.array(z.string().regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')).min(1).optional(),
  })
  .strict();

const AuthConfigSchema = z
  .object({ disabled: z.boolean().default(false), keys: z.array(AuthKeySchema).default([]) })
  .strict();

const BreakerConfigSchema = z
  .object({
    window_s: z.number().positive().default(30),
    min_requests: z.number().int().min(1).default(5),
    failure_ratio: z.number().gt(0).max(1).default(0.5),
    cooldown_s: z.number().positive().default(30),
    max_cooldown_s: z.number().positive().default(600),
  })
  .strict();

const WebhooksConfigSchema = z
  .object({
    /** Signs every tenant's webhooks that has no `webhook_secret` of its own. */
    secret: optionalSecret,
    /** A delivery not answered 2xx within this counts as failed. Default 15000. */
    timeout_ms: z.number().int().positive().default(15_000),
    /** Allow webhook URLs on loopback, private, link-local and reserved addresses. Default false. */
    allow_private_networks: z.boolean().default(false),
    /** Seconds before each retry of a failed delivery. */
    retry_schedule_s: z.array(z.number().nonnegative()).max(20).default([5, 300, 1800, 7200, 18000, 36000, 36000]),
    /** Deliveries in flight per worker process. Default 16. */
    concurrency: z.number().int().min(1).max(1000).default(16),
    /**
     * Deliveries one tenant may have in flight at once, across every worker process; the tenant's
     * others wait, without spending an attempt, until one of its slots frees. Default half of
     * `concurrency` (at least 1): see `webhookLimitPerTenant`.
     */
    max_in_flight_per_tenant: z.number().int().min(1).max(100_000).optional(),
    /** How long a delivery that used up its retries stays listed (and can be redelivered). Default 604800. */
    failed_retention_s: z.number().int().positive().default(604_800),
    /** Failed deliveries kept per tenant (the oldest go first). Default 1000. */
    max_failed_per_tenant: z.number().int().min(1).default(1000),
  })
  .strict();

const JobsConfigSchema = z
  .object({
    default_deadline_s: z.number().int().positive().default(86_400),
    retention_s: z.number().int().positive().default(604_800),
    /** `max_tokens` assumed for cost estimates when a job names none. Default 1024. */
    default_max_tokens: z.number().int().positive().default(1024),
    /** How long a worker's lock on a running job lasts before another worker may take it over. Default 30000. */
    lock_duration_ms: z.number().int().min(1000).default(30_000),
    /** How often workers look for jobs whose worker died (BullMQ stall check). Default 30000. */
    stalled_interval_ms: z.number().int().min(500).default(30_000),
    /** How often a worker runs its housekeeping: expiry, breaker probes, queue pause/move. Default 1000. */
    sweep_interval_ms: z.number().int().min(50).default(1000),
    /** How long hourly usage totals (`GET /v1/usage`) are kept. Default 400. */
    usage_retention_days: z.number().int().positive().default(400),
    /** How long an `Idempotency-Key` returns the same job. Default 86400. */
    idempotency_ttl_s: z.number().int().positive().default(86_400),
    /** Provider calls a job may make in all, over every target and round, before it fails. Default 20. */
    max_attempts: z.number().int().min(1).max(1000).default(20),
    /** Dead letters kept per tenant (the oldest go first); each also goes when its job record expires. Default 10000. */
    max_dead_letters_per_tenant: z.number().int().min(1).default(10_000),
    /** How long a streamed job's output stream is kept after the job ends (resumable, readable from the start). Default 3600. */
    stream_retention_s: z.number().int().positive().default(3600),
    /** Entries a streamed job's output stream keeps (about: the oldest go first); each entry holds one or more chunks. Default 10000. */
    stream_max_entries: z.number().int().min(100).default(10_000),
    /** Response cache entries kept per tenant (the oldest go first). Default 10000. */
    max_cache_entries_per_tenant: z.number().int().min(1).default(10_000),
  })
  .strict();

const MetricsConfigSchema = z
  .object({
    /** A port on which each worker process serves its own `/metrics` (its counters); unset: none. The API serves `/metrics` always. */
    worker_port: z.number().int().min(0).max(65535).optional(),
    /** Serve `/metrics` without a key (it names tenants and providers). Default false: an admin key is needed. */
    public: z.boolean().default(false),
    /** Tenants `sluice_tenant_jobs_queued` shows: those with the most jobs queued. Default 10. */
    top_tenants: z.number().int().min(0).max(1000).default(10),
  })
  .strict();

/** An OTLP/HTTP endpoint: `http(s)` only (the exporter speaks OTLP/HTTP with JSON bodies). */
const OtlpUrlSchema = z.url({ protocol: /^https?$/ });

/**
 * OpenTelemetry tracing, off unless an endpoint is set here or by the standard `OTEL_EXPORTER_OTLP_*`
 * variables (which the config loader copies in when the file names no endpoint).
 */
export const TelemetryConfigSchema = z
  .object({
    /** The collector's OTLP/HTTP base URL (`http://collector:4318`); traces go to `<url>/v1/traces`. Unset: no tracing. */
    otlp_endpoint: OtlpUrlSchema.optional(),
    /** The traces URL as is, instead of `otlp_endpoint` + `/v1/traces` (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`). */
    otlp_traces_endpoint: OtlpUrlSchema.optional(),
    /** Headers of every export request, e.g. a collector's auth token (`OTEL_EXPORTER_OTLP_HEADERS`). Never logged. */
    headers: z.record(z.string(), z.string()).default({}),
    /** `service.name` of the spans. Default `sluice-api`, `sluice-worker`, or `sluice` for `npm start` (`OTEL_SERVICE_NAME`). */
    service_name: z.string().min(1).max(200).optional(),
    /** Share of new traces recorded (0–1); a request that brings a `traceparent` follows its sampled flag. Default 1. */
    sample_ratio: z.number().min(0).max(1).default(1),
    /** True turns tracing off whatever else is set (`OTEL_SDK_DISABLED=true`). Default false. */
    disabled: z.boolean().default(false),
  })
  .strict();
export type TelemetryConfig = z.infer<typeof TelemetryConfigSchema>;

/** True when tracing is configured: an endpoint is set and it is not turned off. */
export const tracingEnabled = (telemetry: TelemetryConfig): boolean =>
  !telemetry.disabled && (telemetry.otlp_endpoint !== undefined || telemetry.otlp_traces_endpoint !== undefined);

/** How many finished entries a queue keeps, and for how long: history for Bull Board, never read by Sluice. */
const KeptEntriesSchema = (count: number, ageSeconds: number) =>
  z
    .object({
      /** The most recent entries kept; 0 keeps none. */
      count: z.number().int().min(0).max(1_000_000).default(count),
      /** Entries older than this go (as later entries finish). */
      age_s: z.number().int().positive().default(ageSeconds),
    })
    .strict();

const QueuesConfigSchema = z
  .object({
    /** Completed entries kept per queue (provider pools, webhooks, batches). Default 1000 entries, 1 h. */
    keep_completed: KeptEntriesSchema(1000, 3600).prefault({}),
    /** Failed entries kept per queue (provider pools, batches). Default 1000 entries, 24 h. */
    keep_failed: KeptEntriesSchema(1000, 86_400).prefault({}),
  })
  .strict();

/**
 * The whole config's schema, `providers.*` validated by `providerEntry` (which only the providers
 * package can build: it knows the types). Load config through `loadConfig` of `@sluice/providers`.
 */
export function createGatewayConfigSchema(providerEntry: ProviderEntrySchema) {
  return z
    .object({
      server: ServerConfigSchema.prefault({}),
      redis: RedisConfigSchema.prefault({}),
      auth: AuthConfigSchema.prefault({}),
      providers: z.record(z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'provider ids are lowercase letters, digits, "_" or "-"'), providerEntry),
      routes: z.record(z.string().regex(/^[a-zA-Z0-9][a-zA-Z0-9_.:-]*$/, 'route names may not contain "/"'), RouteSchema).default({}),
      /** A price per target, replacing the bundled one whole (rates it leaves out are not taken from it). */
      pricing: z.record(TargetSchema, ModelPriceSchema).default({}),
      breaker: BreakerConfigSchema.prefault({}),
      webhooks: WebhooksConfigSchema.prefault({}),
      jobs: JobsConfigSchema.prefault({}),
      metrics: MetricsConfigSchema.prefault({}),
      queues: QueuesConfigSchema.prefault({}),
      telemetry: TelemetryConfigSchema.prefault({}),
      /** `GET /v1/providers` answers tenant keys too; false: admin keys only. Default true. */
      providers_visible_to_tenants: z.boolean().default(true),
      log_level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      log_content: z.boolean().default(false),
    })
    .strict()
    .superRefine((config, ctx) => {
      if (config.auth.disabled && !LOOPBACK_HOSTS.has(config.server.host)) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'disabled'], message: 'true is only allowed when server.host is 127.0.0.1, ::1 or localhost' });
      }
      if (!config.auth.disabled && config.auth.keys.length === 0) {
        ctx.addIssue({ code: 'custom', path: ['auth', 'keys'], message: 'no API keys configured (add keys, or set auth.disabled on a loopback host)' });
      }
      for (const [name, route] of Object.entries(config.routes)) {
        const targets = Array.isArray(route) ? route : route.targets;
        targets.forEach((target, index) => {
          const provider = target.slice(0, target.indexOf('/'));
          if (!(provider in config.providers)) {
            const path = Array.isArray(route) ? ['routes', name, index] : ['routes', name, 'targets', index];
            ctx.addIssue({ code: 'custom', path, message: `unknown provider "${provider}"` });
          }
        });
      }
    });
}

/** The schema of the whole config, whichever provider types validate its entries. */
export type GatewayConfigSchema = ReturnType<typeof createGatewayConfigSchema>;

/** The config as written (before defaults). */
export type GatewayConfigInput = z.input<GatewayConfigSchema>;
/** The config after validation and defaults. */
export type GatewayConfig = z.infer<GatewayConfigSchema>;
export type RouteConfig = z.infer<typeof RouteSchema>;
export type AuthKeyConfig = z.infer<typeof AuthKeySchema>;

/**
 * Deliveries one tenant may have in flight at once: `webhooks.max_in_flight_per_tenant`, else half
 * of one worker process's `concurrency` (at least 1), so a tenant alone can use half of a process's
 * delivery slots and a tenant whose receiver never answers holds no more than that.
 */
export function webhookLimitPerTenant(webhooks: GatewayConfig['webhooks']): number {
  return webhooks.max_in_flight_per_tenant ?? Math.max(1, Math.floor(webhooks.concurrency / 2));
}

/** The secret that signs a tenant's webhooks: its own `webhook_secret`, else `webhooks.secret`, else null. */
export function webhookSecretFor(config: GatewayConfig, tenant: string): string | null {
  const own = config.auth.keys.find((key) => key.tenant === tenant && key.webhook_secret !== undefined)?.webhook_secret;
  return own ?? config.webhooks.secret ?? null;
}
