import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Router, type RequestHandler } from 'express';
import { ApiError } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf, requireAuth } from '../middleware/auth.ts';

/** What this router uses of the API's dependencies. */
type BullBoardDeps = Pick<ApiDeps, 'auth' | 'queues' | 'deadLetters' | 'webhooks' | 'batchQueue'>;

export const BULL_BOARD_PATH = '/admin/queues';

/** HTTP Basic for browsers: no key gets a 401 with a Basic challenge, a tenant key a 403. */
function basicAdmin(deps: BullBoardDeps): RequestHandler[] {
  const challenge: RequestHandler = (req, res, next) => {
    if (!deps.auth.disabled && req.headers.authorization === undefined) res.setHeader('WWW-Authenticate', 'Basic realm="Sluice queues", charset="UTF-8"');
    next();
  };
  const admin: RequestHandler = (_req, res, next) => {
    if (principalOf(res).role !== 'admin') throw new ApiError('Bull Board needs an admin key', { status: 403, type: 'permission_error', code: 'admin_required' });
    next();
  };
  return [challenge, requireAuth(deps.auth), admin];
}

/** What each queue's entries are, and how to get from one to its Sluice job. */
function describe(name: string): string {
  if (name.startsWith('provider-')) return "Calls to one provider. An entry's id is <job id>.<n>, its data {id} the job: GET /v1/jobs/{id} with an admin key shows the job whole. A job's retries and failovers are further entries; one that ended its job failed is failed here.";
  if (name === 'dead-letter') return 'Jobs that failed for good (their id is the job id): GET /v1/dead-letters lists them, POST /v1/dead-letters/{id}/replay runs one again. Nothing takes these entries.';
  if (name === 'webhooks') return 'Signed webhook deliveries; data.job_id names the job or batch. Failed: every retry used (GET /v1/webhooks/failed).';
  return 'Steps of client batches (expand, cancel, finalize); data.batch_id names the batch: GET /v1/batches/{id}.';
}

/**
 * Bull Board at `/admin/queues` over every queue (provider pools, dead letters, webhooks, batches),
 * behind an admin key (HTTP Basic with the key as password, or Bearer).
 */
export function bullBoardRouter(deps: BullBoardDeps): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BULL_BOARD_PATH);
  const queues = [...deps.queues.values(), deps.deadLetters, deps.webhooks, deps.batchQueue];
  createBullBoard({
    queues: queues.map((queue) => {
      const name = queue.name.replace(/^\{|\}$/g, '');
      // The sidebar shows a queue's BullMQ name, whose Cluster hash-tag braces it drops only for a
      // queue with a delimiter; ":" is in no queue name, so each stays one entry, without braces.
      return new BullMQAdapter(queue, { readOnlyMode: false, displayName: name, description: describe(name), delimiter: ':' });
    }),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'Sluice queues' } },
  });
  // Mounted by the app at BULL_BOARD_PATH, so no other request passes through it.
  const router = Router();
  router.use(...basicAdmin(deps), serverAdapter.getRouter());
  return router;
}
