import { Router } from 'express';
import { z } from 'zod';
import type { UsageDimension } from '@sluice/engine';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';
import { validate } from '../middleware/validate.ts';

/** What this router uses of the API's dependencies. */
type UsageDeps = Pick<ApiDeps, 'usage' | 'tenantJobs'>;

const MAX_RANGE_S = 93 * 86_400;
const DIMENSIONS = ['tenant', 'provider', 'model'] as const;

/** Unix seconds or an ISO 8601 date/time. */
const TimeSchema = z.union([
  z.string().regex(/^\d{1,12}$/).transform(Number),
  z.iso.datetime({ offset: true }).or(z.iso.date()).transform((text) => Math.floor(Date.parse(text) / 1000)),
], 'expected unix seconds or an ISO 8601 date');

const UsageQuerySchema = z
  .object({
    from: TimeSchema.optional(),
    to: TimeSchema.optional(),
    group_by: z
      .string()
      .default('model')
      .transform((text) => text.split(',').map((part) => part.trim()).filter(Boolean))
      .pipe(z.array(z.enum(DIMENSIONS, 'expected tenant, provider or model')).min(1).max(3)),
  })
  .strict();

/**
 * `GET /v1/usage`: requests, tokens and cost of succeeded jobs, grouped by any of tenant, provider and
 * model, over `from`..`to` (default: the last 24 hours; hourly resolution, at most 93 days). A tenant
 * key sees its own usage; an admin key sees every tenant's. `jobs`: the caller's tenant's jobs queued
 * and running now.
 */
export function usageRouter(deps: UsageDeps): Router {
  const router = Router();
  router.get('/v1/usage', async (req, res) => {
    const query = validate(UsageQuerySchema, req.query, 'query');
    const principal = principalOf(res);
    const to = query.to ?? Math.floor(Date.now() / 1000);
    const from = query.from ?? to - 86_400;
    if (from > to) {
      res.status(400).json({ error: { type: 'invalid_request_error', code: 'invalid_range', message: 'from must not be after to', param: 'from' } });
      return;
    }
    if (to - from > MAX_RANGE_S) {
      res.status(400).json({ error: { type: 'invalid_request_error', code: 'invalid_range', message: 'the range may span at most 93 days', param: 'from' } });
      return;
    }
    const groupBy = [...new Set(query.group_by)] as UsageDimension[];
    const [data, counts] = await Promise.all([
      deps.usage.query({ from, to, groupBy, tenant: principal.role === 'admin' ? undefined : principal.tenant }),
      deps.tenantJobs.counts([principal.tenant]),
    ]);
    res.json({ object: 'list', from, to, group_by: groupBy, data, jobs: counts.get(principal.tenant) ?? { queued: 0, running: 0 } });
  });
  return router;
}
