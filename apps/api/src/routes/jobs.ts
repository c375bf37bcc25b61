import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isTerminal, JOB_ID_PATTERN, jobLogFields, JOB_STATUSES, jobRequestSchemaFor, toJobObject, type JobRecord } from '@sluice/engine';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';
import { requestSpan } from '../middleware/request-span.ts';
import { validate } from '../middleware/validate.ts';
import { readIdempotencyKey } from '../services/idempotency.ts';
import { allowedPriority, enforceTenantRate, submitJob, type SubmitDeps } from '../services/submit-job.ts';
import { waitForJob, type WaitDeps } from '../services/wait-for-job.ts';
import { streamJobEvents } from './job-events.ts';
import { outputStreamKept, parseLastEventId, streamJobOutput, type JobStreamEventsDeps } from '../services/job-stream-events.ts';

/** What this router uses of the API's dependencies. */
type JobsDeps = Pick<ApiDeps, 'lifecycle' | 'logger' | 'store' | 'waiters'> & SubmitDeps & WaitDeps & JobStreamEventsDeps;

const GetQuerySchema = z
  .object({
    /** Seconds to wait for a terminal status (long-poll); 0 answers at once. */
    wait: z.coerce.number().min(0).max(60, 'wait is at most 60 seconds').default(0),
  })
  .strict();

const ListQuerySchema = z
  .object({
    status: z.enum(JOB_STATUSES).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().regex(JOB_ID_PATTERN, 'expected a job id').optional(),
  })
  .strict();

/** A JSON object body, or a 400/415 that says what arrived instead. */
export function jsonBody(req: Request): unknown {
  if (req.body === undefined) {
    throw new ApiError('Send the request body as JSON with "Content-Type: application/json"', {
      status: 415, type: 'invalid_request_error', code: 'unsupported_media_type',
    });
  }
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) {
    throw new ApiError('The request body must be a JSON object', { status: 400, type: 'invalid_request_error', code: 'invalid_request' });
  }
  return req.body;
}

/** A request to one job's route: `:id` is the job id. */
type JobIdRequest = Request<{ id: string }>;

/** The tenant's job, or a 404; an id that cannot exist is answered like an unknown one, without a Redis read. */
async function loadJob(deps: JobsDeps, id: string, tenant: string | null): Promise<JobRecord> {
  const record = !JOB_ID_PATTERN.test(id) ? null : tenant === null ? await deps.store.get(id) : await deps.store.getForTenant(id, tenant);
  if (record === null) throw notFound('job', id);
  return record;
}

const notCancelable = (id: string, status: string | null): ApiError =>
  new ApiError(`Job ${id} is already ${status} and cannot be canceled`, {
    status: 409, type: 'invalid_request_error', code: 'job_not_cancelable', param: 'id',
  });

/**
 * `POST /v1/jobs`: queues one job (202 with its location), or replays the one an idempotency key
 * already made. Its `endpoint` says what kind: `/v1/chat/completions` (the default) or `/v1/embeddings`.
 */
async function createJob(deps: JobsDeps, req: Request, res: Response): Promise<void> {
  const principal = principalOf(res);
  const body = jsonBody(req);
  const idempotencyKey = readIdempotencyKey(req.headers['idempotency-key']);
  await enforceTenantRate(deps, principal);
  const request = validate(jobRequestSchemaFor((body as { endpoint?: unknown }).endpoint), body);
  request.priority = allowedPriority(principal, request.priority, (body as { priority?: unknown }).priority !== undefined);
  const { record, replayed } = await submitJob(deps, principal, request, { idempotencyKey, rawBody: body, span: requestSpan(res) });
  if (replayed) res.setHeader('Idempotent-Replayed', 'true');
  res.status(202).location(`/v1/jobs/${record.id}`).json(toJobObject(record));
}

/** `GET /v1/jobs`: the tenant's jobs, paged by `after`, optionally of one status. */
async function listJobs(deps: JobsDeps, req: Request, res: Response): Promise<void> {
  const query = validate(ListQuerySchema, req.query, 'query');
  const page = await deps.store.list(principalOf(res).tenant, query);
  const data = page.data.map(toJobObject);
  res.json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.has_more });
}

/**
 * `GET /v1/jobs/{id}`: the job now, or (with `wait`) once it ends or the wait is up, holding a waiter
 * slot meanwhile. An admin key reads any tenant's job (an operator looking up an entry Bull Board lists).
 */
async function getJob(deps: JobsDeps, req: JobIdRequest, res: Response): Promise<void> {
  const { wait } = validate(GetQuerySchema, req.query, 'query');
  const principal = principalOf(res);
  const record = await loadJob(deps, req.params.id, principal.role === 'admin' ? null : principal.tenant);
  if (wait === 0) {
    res.json(toJobObject(record));
    return;
  }
  const release = deps.waiters.take(principal.tenant);
  try {
    const closed = new AbortController();
    res.on('close', () => closed.abort());
    res.json(toJobObject(await waitForJob(deps, record.id, record.tenant, wait * 1000, closed.signal, { known: record })));
  } finally {
    release();
  }
}

/** `GET /v1/jobs/{id}/events`: the job's status changes as server-sent events. */
async function jobEvents(deps: JobsDeps, req: JobIdRequest, res: Response): Promise<void> {
  const tenant = principalOf(res).tenant;
  const record = await loadJob(deps, req.params.id, tenant);
  if (record.stream !== null) {
    const from = parseLastEventId(req.get('last-event-id'));
    // A streamed job's events come from its output stream while it is kept; after, as any job's.
    if (await outputStreamKept(deps.redis, deps.config.redis.prefix, record.id)) {
      await streamJobOutput(deps, res, record, from, () => deps.waiters.take(tenant));
      return;
    }
  }
  await streamJobEvents(deps, res, record, deps.waiters.take(tenant));
}

/** `POST /v1/jobs/{id}/cancel`: ends a job that has not ended; a 409 for one that has, even by a race. */
async function cancelJob(deps: JobsDeps, req: JobIdRequest, res: Response): Promise<void> {
  const tenant = principalOf(res).tenant;
  const record = await loadJob(deps, req.params.id, tenant);
  if (isTerminal(record.status)) throw notCancelable(record.id, record.status);
  const outcome = await deps.lifecycle.end(record, { to: 'canceled', error: { type: 'job_error', code: 'canceled', message: 'canceled by the client' } });
  if (!outcome.ok) throw notCancelable(record.id, outcome.previous);
  deps.logger.info({ ...jobLogFields(record), outcome: 'canceled', previous: outcome.previous }, 'job canceled');
  res.json(toJobObject((await deps.store.get(record.id)) ?? record));
}

/** The jobs resource: submit, list, read (or long-poll), stream events, cancel. */
export function jobsRouter(deps: JobsDeps): Router {
  const router = Router();
  router.post('/v1/jobs', (req, res) => createJob(deps, req, res));
  router.get('/v1/jobs', (req, res) => listJobs(deps, req, res));
  router.get('/v1/jobs/:id', (req, res) => getJob(deps, req, res));
  router.get('/v1/jobs/:id/events', (req, res) => jobEvents(deps, req, res));
  router.post('/v1/jobs/:id/cancel', (req, res) => cancelJob(deps, req, res));
  return router;
}
