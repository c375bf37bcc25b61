import { Router, type RequestHandler } from 'express';
import multer from 'multer';
import { parseBatchFile, parseByteSize } from '@sluice/shared';
import { ApiError, notFound } from '../api-error.ts';
import type { ApiDeps } from '../deps.ts';
import { principalOf } from '../middleware/auth.ts';

/** Problems listed in a refused upload (the first ones; the count says how many in all). */
const LISTED_PROBLEMS = 20;

/** `multipart/form-data` with one `file` part, limited to `server.file_limit`; multer's errors become 4xx. */
function singleFile(limitBytes: number): RequestHandler {
  const upload = multer({ storage: multer.memoryStorage(), limits: { fileSize: limitBytes, files: 1, fields: 10, parts: 12 } }).single('file');
  return (req, res, next) => {
    upload(req, res, (error: unknown) => {
      if (error === undefined || error === null) return next();
      const code = (error as { code?: string }).code;
      if (code === 'LIMIT_FILE_SIZE') return next(new ApiError(`File is larger than the limit of ${limitBytes} bytes`, { status: 413, type: 'invalid_request_error', code: 'file_too_large', param: 'file' }));
      next(new ApiError(`Bad multipart upload: ${(error as Error).message}`, { status: 400, type: 'invalid_request_error', code: 'invalid_upload', param: 'file' }));
    });
  };
}

/**
 * OpenAI's Files API for batch input: `POST /v1/files` (multipart, `purpose=batch`, JSONL checked
 * line by line), `GET /v1/files`, `GET /v1/files/{id}`, `GET /v1/files/{id}/content`.
 */
export function filesRouter(deps: ApiDeps): Router {
  const router = Router();
  const limit = parseByteSize(deps.config.server.file_limit);

  router.post('/v1/files', singleFile(limit), async (req, res) => {
    const purpose = (req.body as Record<string, unknown> | undefined)?.purpose;
    if (req.file === undefined) {
      throw new ApiError('Send multipart/form-data with the file in a part named "file" and purpose=batch', { status: 400, type: 'invalid_request_error', code: 'missing_file', param: 'file' });
    }
    if (purpose !== 'batch') {
      throw new ApiError(`purpose must be "batch" (got ${JSON.stringify(purpose ?? null)})`, { status: 400, type: 'invalid_request_error', code: 'invalid_purpose', param: 'purpose' });
    }
    const text = req.file.buffer.toString('utf8');
    const { lines, problems } = parseBatchFile(text);
    if (problems.length > 0) {
      const issues = problems.slice(0, LISTED_PROBLEMS).map((problem) => ({ param: `line ${problem.line}`, message: problem.message }));
      const summary = issues.map((issue) => `${issue.param}: ${issue.message}`).join('; ');
      throw new ApiError(`Invalid batch file (${problems.length} problem${problems.length === 1 ? '' : 's'}): ${summary}`, {
        status: 400, type: 'invalid_request_error', code: 'invalid_file', param: 'file', issues,
      });
    }
    const file = await deps.files.create(principalOf(res).tenant, req.file.originalname || 'batch.jsonl', 'batch', req.file.buffer);
    deps.logger.info({ file_id: file.id, tenant: file.tenant, bytes: file.bytes, lines: lines.length }, 'file uploaded');
    const { tenant: _tenant, ...object } = file;
    res.json(object);
  });

  router.get('/v1/files', async (req, res) => {
    const limit = Math.min(Math.max(Number(req.query.limit ?? 100) || 100, 1), 10_000);
    const files = await deps.files.list(principalOf(res).tenant, limit);
    res.json({ object: 'list', data: files.map(({ tenant: _tenant, ...object }) => object), has_more: files.length === limit });
  });

  router.get('/v1/files/:id', async (req, res) => {
    const file = await deps.files.get(req.params.id, principalOf(res).tenant);
    if (file === null) throw notFound('file', req.params.id);
    const { tenant: _tenant, ...object } = file;
    res.json(object);
  });

  router.get('/v1/files/:id/content', async (req, res) => {
    const file = await deps.files.get(req.params.id, principalOf(res).tenant);
    const content = file === null ? null : await deps.files.content(file.id);
    if (file === null || content === null) throw notFound('file', req.params.id);
    res.setHeader('content-type', 'application/jsonl');
    res.setHeader('content-disposition', `attachment; filename="${file.filename.replace(/["\\\r\n]/g, '_')}"`);
    res.send(content);
  });

  return router;
}
