import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { isTerminal, jobLogFields, JobRequestSchema, newResponseId, RESPONSE_ID_PATTERN, type JobRecord } from '@sluice/engine';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';
import { requestSpan } from '../middleware/request-span.ts';
import { validate } from '../middleware/validate.ts';
import { CreateResponseSchema, unsupportedFields } from '../responses/request-schema.ts';
import { isResponseRecord, toResponse, type ResponseRecord } from '../responses/response-object.ts';
import { streamResponse, type ResponseStreamDeps } from '../responses/response-stream.ts';
import { toJobRequest } from '../responses/to-job-request.ts';
import { readIdempotencyKey } from '../services/idempotency.ts';
import { failureOf } from '../services/job-failure.ts';
import { submitAndWait } from '../services/submit-and-wait.ts';
import { allowedPriority, enforceTenantRate, submitJob, type SubmitDeps } from '../services/submit-job.ts';
import type { WaitDeps } from '../services/wait-for-job.ts';
import { jsonBody } from './jobs.ts';

/** What this router uses of the API's dependencies. */
type ResponsesDeps = Pick<ApiDeps, 'config' | 'waiters' | 'store' | 'lifecycle' | 'logger'> & SubmitDeps & WaitDeps & ResponseStreamDeps;

const RetrieveQuerySchema = z
  .object({
    stream: z.enum(['true', 'false']).optional(),
    /** Resume a stream after this event's `sequence_number`. */
    starting_after: z.coerce.number().int().min(-1).max(Number.MAX_SAFE_INTEGER).optional(),
    // Sluice never pads deltas, so only the answer that asks for none is taken.
    include_obfuscation: z.literal('false', { error: 'include_obfuscation: Sluice sends no obfuscation padding; only "false" is accepted' }).optional(),
  })
  .strict();

type ResponseIdRequest = Request<{ id: string }>;

/** The tenant's response, or a 404 (another tenant's, a plain job's, or an unknown id alike). */
async function loadResponse(deps: ResponsesDeps, id: string, tenant: string): Promise<ResponseRecord> {
  const record = RESPONSE_ID_PATTERN.test(id) ? await deps.store.getForTenant(id, tenant) : null;
  if (record === null || !isResponseRecord(record)) throw notFound('response', id);
  return record;
}

/** A job an Idempotency-Key replayed must be a response (the key was last used for another kind of request otherwise). */
function asResponse(record: JobRecord): ResponseRecord {
  if (isResponseRecord(record)) return record;
  throw new ApiError('This Idempotency-Key was used for a request that is not a response', { status: 409, type: 'invalid_request_error', code: 'idempotency_key_reused', param: 'Idempotency-Key' });
}

function setJobHeaders(res: Response, record: JobRecord): void {
  res.setHeader('x-sluice-job-id', record.id);
  if (record.provider !== null) res.setHeader('x-sluice-provider', record.provider);
}

/**
 * `POST /v1/responses`: the request becomes an ordinary chat job (`responses/to-job-request.ts`),
 * routed, queued, billed and recorded like any other, whose id is the response's. In the
 * foreground it runs as `POST /v1/chat/completions` does (priority `high`, waits up to
 * `server.sync_timeout_s`); `background: true` queues it as `POST /v1/jobs` does and answers at
 * once with the response `queued`. `stream: true` answers the Responses event stream.
 */
async function createResponse(deps: ResponsesDeps, req: Request, res: Response): Promise<void> {
  const principal = principalOf(res);
  const body = jsonBody(req) as Record<string, unknown>;
  const unsupported = unsupportedFields(body);
  if (unsupported.length > 0) {
    throw new ApiError(`Unsupported parameter${unsupported.length > 1 ? 's' : ''}: ${unsupported.join(', ')} (Sluice's /v1/responses does not take ${unsupported.length > 1 ? 'them' : 'it'}; see the README's "Responses API")`, {
      status: 400, type: 'invalid_request_error', code: 'unsupported_parameter', param: unsupported[0] ?? null,
    });
  }
  const parsed = validate(CreateResponseSchema, body);
  const idempotencyKey = readIdempotencyKey(req.headers['idempotency-key']);
  await enforceTenantRate(deps, principal);
  const { job, settings } = await toJobRequest(deps, principal.tenant, parsed);
  const timeoutS = deps.config.server.sync_timeout_s;
  const defaults = settings.background ? {} : { priority: 'high', deadline_s: Math.ceil(timeoutS) };
  const request = validate(JobRequestSchema, { ...defaults, ...job });
  request.priority = allowedPriority(principal, request.priority, parsed.priority !== undefined);
  const options = { idempotencyKey, rawBody: body, response: settings, id: newResponseId(), span: requestSpan(res) };
  if (settings.background) {
    const { record, replayed } = await submitJob(deps, principal, request, options);
    if (replayed) res.setHeader('Idempotent-Replayed', 'true');
    if (parsed.stream === true) return streamWithSlot(deps, res, asResponse(record), null);
    setJobHeaders(res, record);
    res.json(toResponse(asResponse(record)));
    return;
  }
  const release = deps.waiters.take(principal.tenant);
  let done: JobRecord;
  try {
    if (parsed.stream === true) {
      const { record, replayed } = await submitJob(deps, principal, request, options);
      // Only the request that made the job cancels it by leaving: a replay reads along.
      await streamResponse(deps, res, asResponse(record), { hold: { timeoutMs: timeoutS * 1000 }, cancelOnLeave: !replayed, startingAfter: null });
      return;
    }
    done = await submitAndWait(deps, principal, request, options, res, timeoutS);
  } finally {
    release();
  }
  setJobHeaders(res, done);
  if (done.status !== 'succeeded' || done.result === null) throw failureOf(done);
  res.setHeader('x-sluice-cost-usd', done.cost_usd === null ? 'unknown' : String(done.cost_usd));
  res.json(toResponse(asResponse(done)));
}

/** A background response's event stream, holding one of the tenant's waiter slots while it is open. */
async function streamWithSlot(deps: ResponsesDeps, res: Response, record: ResponseRecord, startingAfter: number | null): Promise<void> {
  const release = deps.waiters.take(record.tenant);
  try {
    await streamResponse(deps, res, record, { hold: null, cancelOnLeave: false, startingAfter });
  } finally {
    release();
  }
}

/** `GET /v1/responses/{id}`: the response now; with `stream=true`, its event stream (from the start, or after `starting_after`). */
async function retrieveResponse(deps: ResponsesDeps, req: ResponseIdRequest, res: Response): Promise<void> {
  const query = validate(RetrieveQuerySchema, req.query, 'query');
  const record = await loadResponse(deps, req.params.id, principalOf(res).tenant);
  if (query.stream === 'true') return streamWithSlot(deps, res, record, query.starting_after ?? null);
  if (query.starting_after !== undefined) {
    throw new ApiError('starting_after is only taken with stream=true', { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'starting_after' });
  }
  setJobHeaders(res, record);
  res.json(toResponse(record));
}

/** `POST /v1/responses/{id}/cancel`: ends a response that has not ended; one that has is returned as it is (cancelling is idempotent). */
async function cancelResponse(deps: ResponsesDeps, req: ResponseIdRequest, res: Response): Promise<void> {
  const tenant = principalOf(res).tenant;
  const record = await loadResponse(deps, req.params.id, tenant);
  if (!isTerminal(record.status)) {
    const outcome = await deps.lifecycle.end(record, { to: 'canceled', error: { type: 'job_error', code: 'canceled', message: 'canceled by the client' } });
    if (outcome.ok) deps.logger.info({ ...jobLogFields(record), outcome: 'canceled', previous: outcome.previous }, 'response canceled');
  }
  const now = await deps.store.get(record.id);
  res.json(toResponse(now !== null && isResponseRecord(now) ? now : record));
}

/** `DELETE /v1/responses/{id}`: removes a response that has ended (its record, its stream); one still queued or in progress is a 409. */
async function deleteResponse(deps: ResponsesDeps, req: ResponseIdRequest, res: Response): Promise<void> {
  const tenant = principalOf(res).tenant;
  const record = await loadResponse(deps, req.params.id, tenant);
  if (!isTerminal(record.status)) {
    throw new ApiError(`Response ${record.id} is still ${record.status === 'queued' ? 'queued' : 'in progress'}: cancel it first (POST /v1/responses/${record.id}/cancel), then delete it`, {
      status: 409, type: 'invalid_request_error', code: 'response_not_finished', param: 'id',
    });
  }
  await deps.store.remove(record.id, tenant);
  res.json({ id: record.id, object: 'response.deleted', deleted: true });
}

/** The Responses API: create (foreground, background, streamed), retrieve (or stream again), cancel, delete. */
export function responsesRouter(deps: ResponsesDeps): Router {
  const router = Router();
  router.post('/v1/responses', (req, res) => createResponse(deps, req, res));
  router.get('/v1/responses/:id', (req, res) => retrieveResponse(deps, req, res));
  router.post('/v1/responses/:id/cancel', (req, res) => cancelResponse(deps, req, res));
  router.delete('/v1/responses/:id', (req, res) => deleteResponse(deps, req, res));
  return router;
}
