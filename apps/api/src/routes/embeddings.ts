import { Router, type Request, type Response } from 'express';
import { EmbeddingsJobRequestSchema, newJobId } from '@sluice/engine';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';
import { requestSpan } from '../middleware/request-span.ts';
import { validate } from '../middleware/validate.ts';
import { readIdempotencyKey } from '../services/idempotency.ts';
import { allowedPriority, enforceTenantRate, type SubmitDeps } from '../services/submit-job.ts';
import type { WaitDeps } from '../services/wait-for-job.ts';
import { submitAndWait } from '../services/submit-and-wait.ts';
import { sendSyncAnswer } from './chat-completions.ts';
import { jsonBody } from './jobs.ts';

/** What this router uses of the API's dependencies. */
type EmbeddingsDeps = Pick<ApiDeps, 'config' | 'waiters'> & SubmitDeps & WaitDeps;

/**
 * `POST /v1/embeddings`: OpenAI-compatible and synchronous, like `POST /v1/chat/completions`. The
 * request becomes an embeddings job at high priority (or the key's `max_priority`) with the same
 * routing, limits, failover and cost, and the call waits for it up to `server.sync_timeout_s`.
 * Vectors come back as floats or, when asked (the openai SDK's default), as base64 float32.
 */
async function createEmbeddings(deps: EmbeddingsDeps, req: Request, res: Response): Promise<void> {
  const principal = principalOf(res);
  const body = jsonBody(req) as Record<string, unknown>;
  const idempotencyKey = readIdempotencyKey(req.headers['idempotency-key']);
  await enforceTenantRate(deps, principal);
  const timeoutS = deps.config.server.sync_timeout_s;
  const request = validate(EmbeddingsJobRequestSchema, { priority: 'high', deadline_s: Math.ceil(timeoutS), ...body });
  request.priority = allowedPriority(principal, request.priority, body.priority !== undefined);
  const release = deps.waiters.take(principal.tenant);
  try {
    sendSyncAnswer(res, await submitAndWait(deps, principal, request, { idempotencyKey, rawBody: body, id: newJobId(), span: requestSpan(res) }, res, timeoutS));
  } finally {
    release();
  }
}

export function embeddingsRouter(deps: EmbeddingsDeps): Router {
  const router = Router();
  router.post('/v1/embeddings', (req, res) => createEmbeddings(deps, req, res));
  return router;
}
