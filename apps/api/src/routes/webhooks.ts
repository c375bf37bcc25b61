import { Router } from 'express';
import { isTerminal, JOB_ID_PATTERN, WEBHOOK_JOB_NAME, webhookJobOptions, type WebhookJobData } from '@sluice/engine';
import { z } from 'zod';
import { validate } from '../middleware/validate.ts';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';

/** What this router uses of the API's dependencies. */
type WebhooksDeps = Pick<ApiDeps, 'config' | 'failedDeliveries' | 'lifecycle' | 'logger' | 'store' | 'webhooks'>;

const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().regex(/^msg_[A-Za-z0-9_-]{1,64}$/, 'expected a webhook id (msg_…)').optional(),
  })
  .strict();

/**
 * `GET /v1/webhooks/failed`: deliveries that used up their retry schedule (or were refused), newest
 * first, the tenant's own (an admin sees all), paged by `after` (a `webhook_id`).
 * `POST /v1/jobs/{id}/webhook/redeliver`: sends the job's event again, with the same `webhook-id`
 * and body while the failed delivery is kept (`webhooks.failed_retention_s`), else a fresh event.
 */
export function webhooksRouter(deps: WebhooksDeps): Router {
  const router = Router();

  router.get('/v1/webhooks/failed', async (req, res) => {
    const query = validate(ListQuerySchema, req.query, 'query');
    const principal = principalOf(res);
    const page = await deps.failedDeliveries.page(principal.role === 'admin' ? null : principal.tenant, query);
    const data = page.data.map(({ payload: _payload, tenant, ...entry }) => (principal.role === 'admin' ? { ...entry, tenant } : entry));
    res.json({ object: 'list', data, first_id: data[0]?.webhook_id ?? null, last_id: data.at(-1)?.webhook_id ?? null, has_more: page.has_more });
  });

  router.post('/v1/jobs/:id/webhook/redeliver', async (req, res) => {
    const principal = principalOf(res);
    const id = String(req.params.id);
    const record = JOB_ID_PATTERN.test(id) ? await deps.store.getForTenant(id, principal.tenant) : null;
    if (record === null) throw notFound('job', id);
    if (record.webhook === null || !isTerminal(record.status)) {
      throw new ApiError(`Job ${id} has ${record.webhook === null ? 'no webhook' : 'not finished yet'}; nothing to redeliver`, {
        status: 409, type: 'invalid_request_error', code: 'nothing_to_redeliver', param: 'id',
      });
    }
    const last = record.deliveries.at(-1);
    const kept = last === undefined ? null : await deps.failedDeliveries.get(last.webhook_id);
    const queued = last === undefined ? undefined : await deps.webhooks.getJob(last.webhook_id);
    const state = queued === undefined ? null : await queued.getState();
    if (state !== null && state !== 'failed' && state !== 'completed' && state !== 'unknown') {
      throw new ApiError(`The webhook of job ${id} is still being delivered`, { status: 409, type: 'invalid_request_error', code: 'delivery_in_progress', param: 'id' });
    }
    // The queue's own copy (kept for Bull Board) would block a new entry with the same id.
    await queued?.remove().catch(() => undefined);
    await deps.lifecycle.webhookStatus(id, 'pending');
    if (kept !== null && kept.tenant === principal.tenant) {
      const data: WebhookJobData = { kind: kept.kind, job_id: kept.job_id, tenant: kept.tenant, url: kept.url, webhook_id: kept.webhook_id, event: kept.event, payload: kept.payload };
      await deps.webhooks.add(WEBHOOK_JOB_NAME, data, webhookJobOptions(deps.config, kept.webhook_id));
      await deps.failedDeliveries.remove(kept);
    } else {
      await deps.lifecycle.redeliver(record, last?.webhook_id);
    }
    deps.logger.info({ job_id: id, tenant: principal.tenant, webhook_id: last?.webhook_id ?? null }, 'webhook redelivery queued');
    res.status(202).json({ object: 'webhook_delivery', job_id: id, webhook_id: last?.webhook_id ?? null, status: 'pending' });
  });

  return router;
}
