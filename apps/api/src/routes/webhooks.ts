import { Router } from 'express';
import { enqueueJobWebhook, isTerminal, JOB_ID_PATTERN, type WebhookJobData } from '@sluice/shared';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';

/** How many exhausted deliveries the list scans (newest first). */
const SCAN = 1000;

/**
 * `GET /v1/webhooks/failed`: deliveries that used up their retry schedule (or were refused), newest
 * first, the tenant's own (an admin sees all). `POST /v1/jobs/{id}/webhook/redeliver`: sends the job's
 * event again, with the same `webhook-id` and body when the failed delivery is still kept.
 */
export function webhooksRouter(deps: ApiDeps): Router {
  const router = Router();

  router.get('/v1/webhooks/failed', async (_req, res) => {
    const principal = principalOf(res);
    const failed = await deps.webhooks.getFailed(0, SCAN - 1);
    const data = failed
      .filter((job) => job !== undefined && (principal.role === 'admin' || (job.data as WebhookJobData).tenant === principal.tenant))
      .map((job) => {
        const entry = job.data as WebhookJobData;
        return {
          object: 'webhook_delivery',
          job_id: entry.job_id,
          webhook_id: entry.webhook_id,
          event: entry.event,
          url: entry.url,
          attempts: job.attemptsMade,
          failed_reason: job.failedReason,
          failed_at: job.finishedOn === undefined ? null : Math.floor(job.finishedOn / 1000),
        };
      });
    res.json({ object: 'list', data, has_more: failed.length === SCAN });
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
    const kept = last === undefined ? undefined : await deps.webhooks.getJob(last.webhook_id);
    if (kept !== undefined && (await kept.getState()) === 'failed') {
      await kept.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      await deps.store.update(id, { webhook_status: 'pending' });
    } else if (kept === undefined) {
      await enqueueJobWebhook(deps, record, last?.webhook_id);
    } else {
      throw new ApiError(`The webhook of job ${id} is still being delivered`, { status: 409, type: 'invalid_request_error', code: 'delivery_in_progress', param: 'id' });
    }
    deps.logger.info({ job_id: id, tenant: principal.tenant, webhook_id: last?.webhook_id ?? null }, 'webhook redelivery queued');
    res.status(202).json({ object: 'webhook_delivery', job_id: id, webhook_id: last?.webhook_id ?? null, status: 'pending' });
  });

  return router;
}
