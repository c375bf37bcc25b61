import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { knownTenants, principalFor } from '@sluice/shared';
import { MAX_QUEUE_WAIT_MINUTES } from '@sluice/engine';
import { notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { requireAdmin } from '../middleware/auth.ts';
import { validate } from '../middleware/validate.ts';

/** What this router uses of the API's dependencies. */
type TenantsDeps = Pick<ApiDeps, 'config' | 'tenantJobs' | 'queueWaits'>;

const TenantQuerySchema = z
  .object({
    /** Minutes of queue waits to sum up, the current one included. */
    minutes: z.coerce.number().int().min(1).max(MAX_QUEUE_WAIT_MINUTES).default(5),
  })
  .strict();

/**
 * `GET /v1/tenants/{id}` (admin): one tenant as the gateway sees it now: its key's fair-share weight
 * and caps (of the first key naming it, as for work without a request), its jobs queued and running
 * across every process, and how long its jobs waited from submit to a worker's first claim over the
 * last `minutes` (count, mean, max).
 */
async function getTenant(deps: TenantsDeps, req: Request, res: Response): Promise<void> {
  const { minutes } = validate(TenantQuerySchema, req.query, 'query');
  const id = String(req.params.id);
  if (!knownTenants(deps.config).includes(id)) throw notFound('tenant', id);
  const key = principalFor(deps.config, id);
  const [counts, queueWait] = await Promise.all([deps.tenantJobs.counts([id]), deps.queueWaits.summary(id, minutes)]);
  res.json({
    id,
    object: 'tenant',
    weight: key.weight,
    caps: { max_priority: key.maxPriority, max_queued_jobs: key.maxQueuedJobs ?? null, rpm: key.rpm ?? null, max_file_bytes: key.maxFileBytes },
    jobs: counts.get(id) ?? { queued: 0, running: 0 },
    queue_wait: queueWait,
  });
}

export function tenantsRouter(deps: TenantsDeps): Router {
  const router = Router();
  router.get('/v1/tenants/:id', requireAdmin, (req, res) => getTenant(deps, req, res));
  return router;
}
