import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy, { type Busboy } from 'busboy';
import { Router, type Request, type Response } from 'express';
import { z } from 'zod';
import { parseByteSize, SluiceError, type GatewayConfig } from '@sluice/shared';
import { contentDisposition, createBatchFileCheck, FILE_ID_PATTERN, FileLimitError, type BatchFileCheck, type FileUpload, type StoredFile } from '@sluice/engine';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf, type Principal } from '../middleware/auth.ts';
import { enforceTenantRate } from '../services/submit-job.ts';
import { validate } from '../middleware/validate.ts';

/** What this router uses of the API's dependencies. */
type FilesDeps = Pick<ApiDeps, 'config' | 'files' | 'logger' | 'limiter'>;

/** `GET /v1/files`: OpenAI's `limit` (1–10,000) and `after`. */
const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(10_000).default(100),
    after: z.string().regex(FILE_ID_PATTERN, 'expected a file id').optional(),
    purpose: z.enum(['batch', 'batch_output']).optional(),
  })
  .strict();

/** Upload bytes gathered before one append to Redis: the most of an upload held in memory. */
const APPEND_BYTES = 256 * 1024;
/** Longest file name kept, in characters. */
const MAX_FILENAME_LENGTH = 255;
/** After a refusal mid-upload, the rest of the body is read and dropped for at most this long, or this much. */
const LINGER_MS = 2_000;
const LINGER_BYTES = 8 * 1024 * 1024;

interface UploadLimits {
  /** `server.file_limit`: 413 past it. */
  fileBytes: number;
  /** `server.body_limit`: the longest line (one request body). */
  lineBytes: number;
  /** `server.max_json_depth` of one line. */
  jsonDepth: number;
  /** `server.max_uploads_per_tenant`. */
  uploads: number;
}

const invalid = (message: string, code: string, param: string | null = 'file'): ApiError =>
  new ApiError(message, { status: 400, type: 'invalid_request_error', code, param });

const invalidPurpose = (purpose: string | null): ApiError => invalid(`purpose must be "batch" (got ${JSON.stringify(purpose)})`, 'invalid_purpose', 'purpose');

function invalidFile(check: BatchFileCheck): ApiError {
  const issues = check.problems.map((problem) => ({ param: `line ${problem.line}`, message: problem.message }));
  const count = `${issues.length} problem${issues.length === 1 ? '' : 's'}${check.stoppedAt === null ? '' : `, checking stopped at line ${check.stoppedAt}`}`;
  return new ApiError(`Invalid batch file (${count}): ${issues.map((issue) => `${issue.param}: ${issue.message}`).join('; ')}`, {
    status: 400, type: 'invalid_request_error', code: 'invalid_file', param: 'file', issues,
  });
}

/** A file store refusal as an HTTP answer: 429 naming the limit, with `Retry-After`. */
export function fileLimitApiError(error: FileLimitError): ApiError {
  return new ApiError(error.message, { status: 429, type: 'rate_limit_error', code: error.limit, retryAfter: error.retryAfterS });
}

/** The file store's refusals of an upload as HTTP answers; anything else goes to the error middleware as it is. */
function uploadApiError(error: unknown): unknown {
  if (error instanceof FileLimitError) return fileLimitApiError(error);
  if (error instanceof SluiceError && (error.code === 'upload_interrupted' || error.code === 'file_not_found')) {
    return new ApiError('The upload was interrupted before it was stored; send it again', { status: 503, type: 'api_error', code: 'upload_interrupted', retryAfter: 1 });
  }
  return error;
}

/**
 * Streams the file part into the store: each chunk's lines are checked as they arrive, and checked
 * bytes are appended to Redis in bounded batches. Throws at the first reason to refuse.
 */
async function receiveFile(stream: Readable, upload: FileUpload, check: BatchFileCheck, limits: UploadLimits): Promise<void> {
  let received = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async (): Promise<void> => {
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await upload.append(chunk);
  };
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    received += chunk.length;
    if (received > limits.fileBytes) {
      throw new ApiError(`File is larger than the limit of ${limits.fileBytes} bytes (server.file_limit)`, { status: 413, type: 'invalid_request_error', code: 'file_too_large', param: 'file' });
    }
    if (!check.push(chunk)) throw invalidFile(check);
    if (check.problems.length > 0) continue; // refused at the end: nothing more is worth storing
    pending.push(chunk);
    pendingBytes += chunk.length;
    if (pendingBytes >= APPEND_BYTES) await flush();
  }
  if (!check.end()) throw invalidFile(check);
  await flush();
}

/**
 * Reads the multipart form (`purpose`, in any order, and one part named `file`), handing the file
 * part to `receive`. Resolves with the file's name once the whole form is read.
 */
function readForm(req: Request, form: Busboy, receive: (stream: Readable) => Promise<void>): Promise<string> {
  return new Promise((resolve, reject) => {
    let purpose: string | null = null;
    let file: { stream: Readable; filename: string; received: Promise<void> } | null = null;
    let settled = false;
    const fail = (error: unknown): void => {
      if (settled) return;
      settled = true;
      file?.stream.destroy();
      reject(error);
    };
    form.on('field', (name, value) => {
      if (name !== 'purpose') return;
      purpose = value;
      if (value !== 'batch') fail(invalidPurpose(value));
    });
    form.on('file', (name, stream, info) => {
      if (name !== 'file') {
        stream.resume();
        return fail(invalid(`Unexpected file part "${name}": send the file in a part named "file"`, 'invalid_upload'));
      }
      if ((info.filename ?? '').length > MAX_FILENAME_LENGTH) {
        stream.resume();
        return fail(invalid(`File name is longer than ${MAX_FILENAME_LENGTH} characters`, 'invalid_filename'));
      }
      file = { stream, filename: info.filename || 'batch.jsonl', received: receive(stream) };
      file.received.catch(fail);
    });
    for (const limit of ['partsLimit', 'filesLimit', 'fieldsLimit'] as const) {
      form.on(limit, () => fail(invalid('Too many parts: send one "file" part and a "purpose" field', 'invalid_upload')));
    }
    form.on('error', (error: Error) => fail(invalid(`Bad multipart upload: ${error.message}`, 'invalid_upload')));
    form.on('close', () => {
      if (file === null) return fail(invalid('Send multipart/form-data with the file in a part named "file" and purpose=batch', 'missing_file'));
      const { filename, received } = file;
      received.then(() => {
        if (purpose !== 'batch') return fail(invalidPurpose(purpose));
        settled = true;
        resolve(filename);
      }, fail);
    });
    req.once('close', () => {
      if (!req.complete) fail(new ApiError('Request aborted by the client', { status: 400, type: 'invalid_request_error', code: 'request_aborted' }));
    });
    req.pipe(form);
  });
}

/** `POST /v1/files`: one upload, held to the tenant's limits, stored only when every line is good. */
async function receiveUpload(deps: FilesDeps, principal: Principal, req: Request, limits: UploadLimits): Promise<StoredFile> {
  let form: Busboy;
  try {
    // UTF-8 file names (busboy reads them as Latin-1 unless told); `filename*=UTF-8''…` works either way.
    form = busboy({ headers: req.headers, defParamCharset: 'utf8', limits: { files: 1, fields: 8, parts: 9, fieldSize: 1024, headerPairs: 32 } });
  } catch (error) {
    throw invalid(`Send multipart/form-data with the file in a part named "file" and purpose=batch (${(error as Error).message})`, 'missing_file');
  }
  const upload = await deps.files.beginUpload(principal.tenant, { maxUploads: limits.uploads, maxHeldBytes: principal.maxFileBytes });
  const check = createBatchFileCheck({ maxLineBytes: limits.lineBytes, maxJsonDepth: limits.jsonDepth });
  try {
    const filename = await readForm(req, form, (stream) => receiveFile(stream, upload, check, limits));
    const file = await upload.commit(filename, 'batch');
    deps.logger.info({ file_id: file.id, tenant: file.tenant, bytes: file.bytes, lines: check.requests }, 'file uploaded');
    return file;
  } catch (error) {
    req.unpipe(form);
    form.on('error', () => undefined); // the abandoned parser may still complain
    await upload.abort().catch(() => undefined); // past the lease it lapses anyway
    throw error;
  }
}

/**
 * After a refusal before the whole body was read: the rest is read and dropped, so the client sees the
 * answer rather than a stalled upload, for at most LINGER_MS or LINGER_BYTES; then the connection
 * closes. Clients that stop sending on an early answer (fetch, the OpenAI SDK, curl) keep theirs.
 */
function discardRest(req: Request): void {
  if (req.complete) return;
  let dropped = 0;
  const close = (): void => void req.socket.destroy();
  const timer = setTimeout(close, LINGER_MS);
  timer.unref();
  req.once('close', () => clearTimeout(timer));
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > LINGER_BYTES) close();
  });
  req.resume();
}

const toFileObject = ({ tenant: _tenant, ...object }: StoredFile) => object;

/** A request to one file's route: `:id` is the file id. */
type FileIdRequest = Request<{ id: string }>;

function uploadLimits({ server }: GatewayConfig): UploadLimits {
  return {
    fileBytes: parseByteSize(server.file_limit),
    lineBytes: parseByteSize(server.body_limit),
    jsonDepth: server.max_json_depth,
    uploads: server.max_uploads_per_tenant,
  };
}

async function loadFile(deps: FilesDeps, id: string, tenant: string): Promise<StoredFile> {
  const file = await deps.files.get(id, tenant);
  if (file === null) throw notFound('file', id);
  return file;
}

/** `POST /v1/files`: on a refusal the rest of the body is drained, so the client reads the answer. */
async function uploadFile(deps: FilesDeps, limits: UploadLimits, req: Request, res: Response): Promise<void> {
  const principal = principalOf(res);
  try {
    await enforceTenantRate(deps, principal);
    res.json(toFileObject(await receiveUpload(deps, principal, req, limits)));
  } catch (error) {
    discardRest(req);
    throw uploadApiError(error);
  }
}

/** `GET /v1/files`: the tenant's files, paged by `after`, optionally of one purpose. */
async function listFiles(deps: FilesDeps, req: Request, res: Response): Promise<void> {
  const query = validate(ListQuerySchema, req.query, 'query');
  const page = await deps.files.list(principalOf(res).tenant, query);
  const data = page.data.map(toFileObject);
  res.json({ object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: page.has_more });
}

/** `GET /v1/files/{id}`. */
async function getFile(deps: FilesDeps, req: FileIdRequest, res: Response): Promise<void> {
  res.json(toFileObject(await loadFile(deps, req.params.id, principalOf(res).tenant)));
}

/** `GET /v1/files/{id}/content`: the stored bytes as JSONL, streamed chunk by chunk from Redis. */
async function downloadFile(deps: FilesDeps, req: FileIdRequest, res: Response): Promise<void> {
  const file = await loadFile(deps, req.params.id, principalOf(res).tenant);
  const chunks = deps.files.chunks(file.id, file.tenant);
  // The first chunk is read before answering, so a file that just went is still a 404.
  const first = await chunks.next().catch((error: unknown) => {
    throw error instanceof SluiceError && error.code === 'file_not_found' ? notFound('file', file.id) : error;
  });
  res.setHeader('content-type', 'application/jsonl');
  res.setHeader('content-length', String(file.bytes));
  res.setHeader('content-disposition', contentDisposition(file.filename));
  try {
    await pipeline(Readable.from((async function* () {
      if (first.done !== true) yield first.value;
      yield* chunks;
    })()), res);
  } catch (error) {
    // Headers are out: a client that went away, or a file deleted mid-read, ends the response short.
    if (!req.destroyed) deps.logger.warn({ file_id: file.id, err: (error as Error).message }, 'file download cut short');
  }
}

/** `DELETE /v1/files/{id}`. */
async function deleteFile(deps: FilesDeps, req: FileIdRequest, res: Response): Promise<void> {
  const tenant = principalOf(res).tenant;
  if (!(await deps.files.delete(req.params.id, tenant))) throw notFound('file', req.params.id);
  deps.logger.info({ file_id: req.params.id, tenant }, 'file deleted');
  res.json({ id: req.params.id, object: 'file', deleted: true });
}

/**
 * OpenAI's Files API for batch input: `POST /v1/files` (multipart, `purpose=batch`, JSONL checked
 * line by line as it streams in), `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`
 * and `DELETE /v1/files/{id}`.
 */
export function filesRouter(deps: FilesDeps): Router {
  const router = Router();
  const limits = uploadLimits(deps.config);
  router.post('/v1/files', (req, res) => uploadFile(deps, limits, req, res));
  router.get('/v1/files', (req, res) => listFiles(deps, req, res));
  router.get('/v1/files/:id', (req, res) => getFile(deps, req, res));
  router.get('/v1/files/:id/content', (req, res) => downloadFile(deps, req, res));
  router.delete('/v1/files/:id', (req, res) => deleteFile(deps, req, res));
  return router;
}
