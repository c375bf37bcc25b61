import { Router, type Response } from 'express';
import { JobRequestSchema, newJobId, type JobRecord } from '@sluice/engine';
import { failureOf } from '../services/job-failure.ts';
import { relayChatStream, type ChatStreamDeps } from '../services/chat-stream.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';
import { requestSpan } from '../middleware/request-span.ts';
import { validate } from '../middleware/validate.ts';
import { readIdempotencyKey } from '../services/idempotency.ts';
import { allowedPriority, enforceTenantRate, submitJob, type SubmitDeps } from '../services/submit-job.ts';
import { submitAndWait } from '../services/submit-and-wait.ts';
import type { WaitDeps } from '../services/wait-for-job.ts';
import { jsonBody } from './jobs.ts';

/** What this router uses of the API's dependencies. */
type ChatDeps = Pick<ApiDeps, 'config' | 'waiters'> & SubmitDeps & WaitDeps & ChatStreamDeps;

/**
 * `POST /v1/chat/completions`: OpenAI-compatible and synchronous. The request becomes an ordinary job
 * at high priority, or the key's `max_priority` when lower (same routing, failover and cost) and the call waits for it, up to
 * `server.sync_timeout_s`, woken by the job's status channel. With `stream: true` the answer is
 * relayed as it is generated, from the job's output stream.
 */
export function chatCompletionsRouter(deps: ChatDeps): Router {
  const router = Router();
  const timeoutS = deps.config.server.sync_timeout_s;

  router.post('/v1/chat/completions', async (req, res) => {
    const principal = principalOf(res);
    const body = jsonBody(req);
    const idempotencyKey = readIdempotencyKey(req.headers['idempotency-key']);
    await enforceTenantRate(deps, principal);
    const request = validate(JobRequestSchema, { priority: 'high', deadline_s: Math.ceil(timeoutS), ...(body as Record<string, unknown>) });
    // The default `high` is lowered to a key's max_priority; a priority the client names is checked against it.
    request.priority = allowedPriority(principal, request.priority, (body as { priority?: unknown }).priority !== undefined);
    const release = deps.waiters.take(principal.tenant);
    if (request.stream === true) {
      try {
        const { record, replayed } = await submitJob(deps, principal, request, { idempotencyKey, rawBody: body, span: requestSpan(res) });
        // Only the request that made the job cancels it by leaving: a replay reads along.
        await relayChatStream(deps, res, record, { timeoutMs: timeoutS * 1000, cancelOnLeave: !replayed, includeUsage: request.stream_options?.include_usage === true });
      } finally {
        release();
      }
      return;
    }
    let done: JobRecord;
    try {
      done = await submitAndWait(deps, principal, request, { idempotencyKey, rawBody: body, id: newJobId(), span: requestSpan(res) }, res, timeoutS);
    } finally {
      release();
    }
    sendSyncAnswer(res, done);
  });

  return router;
}

/** A synchronous call's answer: the job's result with the `x-sluice-*` headers, or its failure in OpenAI's error shape. */
export function sendSyncAnswer(res: Response, done: JobRecord): void {
  res.setHeader('x-sluice-job-id', done.id);
  if (done.provider !== null) res.setHeader('x-sluice-provider', done.provider);
  if (done.status !== 'succeeded' || done.result === null) throw failureOf(done);
  res.setHeader('x-sluice-cost-usd', done.cost_usd === null ? 'unknown' : String(done.cost_usd));
  res.json(done.result);
}
