import { Router } from 'express';
import { z } from 'zod';
import { chooseTarget, JOB_ID_PATTERN, toJobObject } from '@sluice/engine';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf, requireAdmin } from '../middleware/auth.ts';
import { validate } from '../middleware/validate.ts';

/** What this router uses of the API's dependencies. */
type DeadLettersDeps = Pick<ApiDeps, 'circuits' | 'lifecycle' | 'logger' | 'store' | 'letters'>;

const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().regex(JOB_ID_PATTERN, 'expected a job id').optional(),
  })
  .strict();

/**
 * `GET /v1/dead-letters`: jobs that exhausted every target, newest first (an admin sees every
 * tenant's, a tenant its own), paged by `after` (the last id of the previous page).
 * `POST /v1/dead-letters/{id}/replay` (admin): the job runs again from its first healthy target with
 * a fresh deadline, keeping its attempt history.
 */
export function deadLettersRouter(deps: DeadLettersDeps): Router {
  const router = Router();
  const { store, letters } = deps;

  router.get('/v1/dead-letters', async (req, res) => {
    const query = validate(ListQuerySchema, req.query, 'query');
    const principal = principalOf(res);
    const admin = principal.role === 'admin';
    const page = await letters.page(admin ? null : principal.tenant, query, async (ids) => {
      const records = await Promise.all(ids.map((id) => store.get(id)));
      return records.map((record) => (record === null || record.status !== 'failed' || (!admin && record.tenant !== principal.tenant) ? null : { ...toJobObject(record), tenant: record.tenant }));
    });
    res.json({ object: 'list', data: page.data, first_id: page.data[0]?.id ?? null, last_id: page.data.at(-1)?.id ?? null, has_more: page.has_more });
  });

  router.post('/v1/dead-letters/:id/replay', requireAdmin, async (req, res) => {
    const id = String(req.params.id);
    const listed = JOB_ID_PATTERN.test(id) && (await letters.has(id));
    const record = listed ? await store.get(id) : null;
    // A dead letter is a failed job in the listing: one replayed since (running, or done) is not one.
    if (record === null || record.status !== 'failed') throw notFound('dead_letter', id);
    const open = await deps.circuits.openProviders(true);
    const choice = chooseTarget(record.routing.candidates, [], open);
    const candidate = choice === null ? undefined : record.routing.candidates[choice.index];
    if (choice === null || candidate === undefined) {
      throw new ApiError(`Job ${id} has no routable target left in the current config`, { status: 409, type: 'invalid_request_error', code: 'no_eligible_target', param: 'id' });
    }
    const moved = await deps.lifecycle.replay(record, choice.index);
    if (!moved) throw new ApiError(`Job ${id} changed while it was being replayed; try again`, { status: 409, type: 'invalid_request_error', code: 'job_not_replayable', param: 'id' });
    deps.logger.info({ job_id: id, tenant: record.tenant, by: principalOf(res).tenant, provider: candidate.provider, model: candidate.model }, 'dead letter replayed');
    res.status(202).location(`/v1/jobs/${id}`).json(toJobObject((await store.get(id)) ?? record));
  });

  return router;
}
