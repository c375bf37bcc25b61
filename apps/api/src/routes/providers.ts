import { Router, type RequestHandler } from 'express';
import { providerDisabledReason } from '@sluice/engine';
import type { ApiDeps } from '../deps.ts';
import { requireAdmin } from '../middleware/auth.ts';

/** What this router uses of the API's dependencies. */
type ProvidersDeps = Pick<ApiDeps, 'breaker' | 'config' | 'limiter' | 'queues' | 'deferred'>;

/** Per provider: jobs waiting for a provider batch, and the open provider batches with their size. */
async function deferredByProvider(deps: ProvidersDeps) {
  const waiting = new Map<string, number>();
  for (const target of await deps.deferred.waiting()) waiting.set(target.provider, (waiting.get(target.provider) ?? 0) + target.count);
  const open = new Map<string, { id: string | null; model: string; state: string; jobs: number; claimed_at: number }[]>();
  for (const batch of await deps.deferred.open()) {
    const list = open.get(batch.provider) ?? [];
    list.push({ id: batch.id, model: batch.model, state: batch.state, jobs: batch.count, claimed_at: Math.floor(batch.claimedAt / 1000) });
    open.set(batch.provider, list);
  }
  return { waiting, open };
}

type Deferred = Awaited<ReturnType<typeof deferredByProvider>>;

/** One provider's entry in `GET /v1/providers`, read from its breaker, queue and rate limiter. */
async function providerView(deps: ProvidersDeps, id: string, settings: ProvidersDeps['config']['providers'][string], deferred: Deferred) {
  const disabledReason = providerDisabledReason(settings);
  const queue = deps.queues.get(id);
  const limits = { rpm: settings.rpm, tpm: settings.tpm, windowMs: settings.rate_window_s * 1000 };
  const [circuit, paused, counts, usage, limitedForMs] = await Promise.all([
    deps.breaker.snapshot(id),
    queue ? queue.isPaused() : false,
    queue ? queue.getJobCounts('waiting', 'prioritized', 'delayed', 'active') : ({} as Record<string, number>),
    deps.limiter.usage(`provider:${id}`, limits),
    queue ? queue.getRateLimitTtl() : 0,
  ]);
  return {
    id,
    object: 'provider',
    type: settings.type,
    enabled: disabledReason === null,
    disabled_reason: disabledReason,
    circuit: {
      state: circuit.state,
      reason: circuit.reason,
      opened_at: circuit.opened_at,
      cooldown_s: circuit.cooldown_s,
      next_probe_at: circuit.next_probe_at === null ? null : Math.ceil(circuit.next_probe_at / 1000),
    },
    paused,
    queue: {
      waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
      delayed: counts.delayed ?? 0,
      active: counts.active ?? 0,
    },
    window_s: deps.config.breaker.window_s,
    requests_in_window: circuit.window.requests,
    error_ratio: circuit.window.error_ratio,
    latency_ms: circuit.latency_ms,
    rate_limit: {
      rpm: settings.rpm ?? null,
      tpm: settings.tpm ?? null,
      window_s: settings.rate_window_s,
      requests_in_window: usage.requests,
      tokens_in_window: usage.tokens,
      limited_for_ms: Math.max(0, limitedForMs),
    },
    provider_batches: {
      enabled: settings.batch.enabled,
      deferred_jobs: deferred.waiting.get(id) ?? 0,
      open: deferred.open.get(id) ?? [],
    },
  };
}

/**
 * `GET /v1/providers`: each provider's health as the gateway sees it: circuit state, whether its
 * queue is paused, queue counts, recent error ratio, latency percentiles and rate-limit usage.
 * Tenant keys get 403 when `providers_visible_to_tenants` is false.
 */
export function providersRouter(deps: ProvidersDeps): Router {
  const router = Router();
  // Provider names, health and load say how the gateway is built; a deployment may keep that to admins.
  const guard: RequestHandler[] = deps.config.providers_visible_to_tenants ? [] : [requireAdmin];
  router.get('/v1/providers', ...guard, async (_req, res) => {
    const deferred = await deferredByProvider(deps);
    const data = await Promise.all(Object.entries(deps.config.providers).map(([id, settings]) => providerView(deps, id, settings, deferred)));
    res.json({ object: 'list', data });
  });
  return router;
}
