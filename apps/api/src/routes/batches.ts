import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { traceIdOf, type TraceContext } from '@sluice/shared';
import { BATCH_ID_PATTERN, enqueueBatchStep, FileLimitError, InlineBatchRequestSchema, JOB_ENDPOINTS, MAX_BATCH_REQUESTS, MetadataSchema, PrioritySchema, WebhookTargetSchema, newBatchId, toBatchObject, type BatchRecord, type Priority } from '@sluice/engine';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf, type Principal } from '../middleware/auth.ts';
import { requestSpan } from '../middleware/request-span.ts';
import { validate } from '../middleware/validate.ts';
import { allowedPriority, checkWebhook, enforceTenantRate } from '../services/submit-job.ts';
import { fileLimitApiError } from './files.ts';
import { jsonBody } from './jobs.ts';

/** What this router uses of the API's dependencies. */
type BatchesDeps = Pick<ApiDeps, 'batches' | 'files' | 'logger' | 'config' | 'limiter' | 'batchQueue'>;

const COMPLETION_WINDOW_S = 86_400;

const CreateBatchSchema = z
  .object({
    input_file_id: z.string().min(1).optional(),
    /** Sluice's extension: the requests inline instead of an uploaded file. */
    requests: z.array(InlineBatchRequestSchema).min(1).max(MAX_BATCH_REQUESTS).optional(),
    /** Every line's `url` must be it: a batch runs one endpoint. */
    endpoint: z.enum(JOB_ENDPOINTS, `supported: ${JOB_ENDPOINTS.map((endpoint) => `"${endpoint}"`).join(', ')}`).default('/v1/chat/completions'),
    completion_window: z.literal('24h', 'only "24h" is supported').default('24h'),
    metadata: MetadataSchema.nullable().optional(),
    webhook: WebhookTargetSchema.optional(),
    /** Sluice's extension: the children's priority class (default low; a line may lower its own, never raise it). */
    priority: PrioritySchema.optional(),
  })
  .strict()
  .refine((body) => (body.input_file_id === undefined) !== (body.requests === undefined), { message: 'give exactly one of input_file_id or requests', path: ['input_file_id'] });

const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).default(20),
    after: z.string().regex(BATCH_ID_PATTERN, 'expected a batch id').optional(),
  })
  .strict();

type CreateBatchBody = z.infer<typeof CreateBatchSchema>;

/** A request to one batch's route: `:id` is the batch id. */
type BatchIdRequest = Request<{ id: string }>;

async function loadBatch(deps: BatchesDeps, id: string, tenant: string): Promise<BatchRecord> {
  const batch = await deps.batches.getForTenant(id, tenant);
  if (batch === null) throw notFound('batch', id);
  return batch;
}

/**
 * Inline requests become an input file, so both kinds of batch run the same way. The file counts
 * toward the tenant's held bytes like an upload (the lines are within server.body_limit).
 */
async function storeInlineRequests(deps: BatchesDeps, principal: Principal, body: CreateBatchBody): Promise<string> {
  const requests = body.requests ?? [];
  const lines = requests.map((request) => JSON.stringify({ custom_id: request.custom_id, method: 'POST', url: body.endpoint, body: request.body }));
  const ids = new Set(requests.map((request) => request.custom_id));
  if (ids.size !== lines.length) throw new ApiError('custom_id values must be unique', { status: 400, type: 'invalid_request_error', code: 'invalid_request', param: 'requests' });
  const file = await deps.files.create(principal.tenant, 'inline-requests.jsonl', 'batch', lines.join('\n'), { maxHeldBytes: principal.maxFileBytes }).catch((error: unknown) => {
    throw error instanceof FileLimitError ? fileLimitApiError(error) : error;
  });
  return file.id;
}

/** The id of the batch's input file: the tenant's uploaded `batch` file named, or one made of the inline requests. */
async function batchInputFile(deps: BatchesDeps, principal: Principal, body: CreateBatchBody): Promise<string> {
  if (body.input_file_id === undefined) return storeInlineRequests(deps, principal, body);
  const file = await deps.files.get(body.input_file_id, principal.tenant);
  if (file === null || file.purpose !== 'batch') throw notFound('file', body.input_file_id);
  return body.input_file_id;
}

/** A new batch, `validating` until the worker expands its input file. */
function newBatchRecord(body: CreateBatchBody, inputFileId: string, tenant: string, priority: Priority, trace: TraceContext | null): BatchRecord {
  const now = Math.floor(Date.now() / 1000);
  return {
    id: newBatchId(), object: 'batch', endpoint: body.endpoint, errors: null, input_file_id: inputFileId, completion_window: body.completion_window,
    status: 'validating', output_file_id: null, error_file_id: null, created_at: now, in_progress_at: null, expires_at: now + COMPLETION_WINDOW_S,
    finalizing_at: null, completed_at: null, failed_at: null, expired_at: null, cancelling_at: null, cancelled_at: null,
    request_counts: { total: 0, completed: 0, failed: 0 }, metadata: body.metadata ?? null, webhook: body.webhook ?? null,
    priority, tenant, expanded: false, trace,
  };
}

/** `POST /v1/batches`: stores the batch and queues its expansion into child jobs. */
async function createBatch(deps: BatchesDeps, req: Request, res: Response): Promise<void> {
  const principal = principalOf(res);
  await enforceTenantRate(deps, principal);
  const body = validate(CreateBatchSchema, jsonBody(req));
  if (body.webhook !== undefined) checkWebhook(deps, principal, body.webhook.url);
  const priority = allowedPriority(principal, body.priority ?? 'low', body.priority !== undefined);
  const inputFileId = await batchInputFile(deps, principal, body);
  const batch = newBatchRecord(body, inputFileId, principal.tenant, priority, requestSpan(res)?.context() ?? null);
  await deps.batches.create(batch);
  await enqueueBatchStep(deps, batch.id, 'expand');
  deps.logger.info({ batch_id: batch.id, tenant: batch.tenant, input_file_id: inputFileId, priority, ...(batch.trace === null ? {} : { trace_id: traceIdOf(batch.trace.traceparent) }) }, 'batch created');
  res.json(toBatchObject(batch));
}

/** `GET /v1/batches`: the tenant's batches, paged by `after`. */
async function listBatches(deps: BatchesDeps, req: Request, res: Response): Promise<void> {
  const query = validate(ListQuerySchema, req.query, 'query');
  const page = await deps.batches.list(principalOf(res).tenant, query.limit, query.after);
  const data = page.data.map(toBatchObject);
  res.json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.has_more });
}

/** `GET /v1/batches/{id}`. */
async function getBatch(deps: BatchesDeps, req: BatchIdRequest, res: Response): Promise<void> {
  res.json(toBatchObject(await loadBatch(deps, req.params.id, principalOf(res).tenant)));
}

/** `POST /v1/batches/{id}/cancel`: marks a running batch `cancelling`; the worker cancels its children. */
async function cancelBatch(deps: BatchesDeps, req: BatchIdRequest, res: Response): Promise<void> {
  const batch = await loadBatch(deps, req.params.id, principalOf(res).tenant);
  const now = Math.floor(Date.now() / 1000);
  if (!(await deps.batches.transition(batch.id, ['validating', 'in_progress'], 'cancelling', { cancelling_at: now }))) {
    throw new ApiError(`Batch ${batch.id} is ${(await deps.batches.get(batch.id))?.status ?? batch.status} and cannot be cancelled`, {
      status: 409, type: 'invalid_request_error', code: 'batch_not_cancelable', param: 'id',
    });
  }
  await enqueueBatchStep(deps, batch.id, 'cancel');
  deps.logger.info({ batch_id: batch.id, tenant: batch.tenant }, 'batch cancelling');
  res.json(toBatchObject((await deps.batches.get(batch.id)) ?? batch));
}

/**
 * OpenAI's Batch API: `POST /v1/batches` (an uploaded file or inline `requests`), `GET`, list and
 * `cancel`. Children are ordinary jobs; the worker expands, cancels and finalizes batches.
 */
export function batchesRouter(deps: BatchesDeps): Router {
  const router = Router();
  router.post('/v1/batches', (req, res) => createBatch(deps, req, res));
  router.get('/v1/batches', (req, res) => listBatches(deps, req, res));
  router.get('/v1/batches/:id', (req, res) => getBatch(deps, req, res));
  router.post('/v1/batches/:id/cancel', (req, res) => cancelBatch(deps, req, res));
  return router;
}
