import type { ErrorRequestHandler, RequestHandler } from 'express';
import { SluiceError, spanLogFields, type Logger } from '@sluice/shared';
import { JobRejectedError, UnknownModelError } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import { requestSpan } from './request-span.ts';

/**
 * Redis (or part of a Cluster) unreachable: a 503 to retry, not a 500. The Cluster's own: a shard
 * without a master (CLUSTERDOWN, TRYAGAIN during a resharding), redirections that never reached a
 * live node, no seed node answering, no slot map.
 */
const REDIS_DOWN =
  /Stream isn't writeable|Connection is closed|ECONNREFUSED|Reached the max retries per request|enableOfflineQueue|ETIMEDOUT|ECONNRESET|CLUSTERDOWN|TRYAGAIN|Too many Cluster redirections|None of startup nodes is available|Failed to refresh slots cache/;

/** The one place errors become HTTP answers. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof JobRejectedError) {
    return new ApiError(error.message, {
      status: error.status, type: error.status === 429 ? 'rate_limit_error' : 'invalid_request_error', code: error.code, param: error.param, retryAfter: error.retryAfter,
    });
  }
  if (error instanceof UnknownModelError) {
    return new ApiError(error.message, { status: 400, type: 'invalid_request_error', code: error.code, param: 'model' });
  }
  const parserError = error as { type?: string; status?: number; limit?: number };
  switch (parserError.type) {
    case 'entity.parse.failed':
      return new ApiError(`Malformed JSON in the request body: ${(error as Error).message}`, { status: 400, type: 'invalid_request_error', code: 'invalid_json' });
    case 'entity.too.deep':
      return new ApiError(`Request body is ${(error as Error).message}`, { status: 400, type: 'invalid_request_error', code: 'json_too_deep' });
    case 'entity.too.large':
      return new ApiError(`Request body is larger than the limit of ${parserError.limit} bytes`, { status: 413, type: 'invalid_request_error', code: 'body_too_large' });
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ApiError((error as Error).message, { status: 415, type: 'invalid_request_error', code: 'unsupported_encoding' });
    case 'request.aborted':
      return new ApiError('Request aborted by the client', { status: 400, type: 'invalid_request_error', code: 'request_aborted' });
  }
  if (error instanceof URIError) {
    // A path with a broken percent-escape (`/v1/jobs/%ZZ`): the router cannot decode the id.
    return new ApiError(`Malformed URL: ${error.message}`, { status: 400, type: 'invalid_request_error', code: 'invalid_url', param: 'id' });
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof Error && (error.name === 'MaxRetriesPerRequestError' || REDIS_DOWN.test(message))) {
    return new ApiError('The job store (Redis) is unreachable; try again shortly', { status: 503, type: 'api_error', code: 'redis_unavailable', retryAfter: 1 });
  }
  if (error instanceof SluiceError && error.code === 'redis_unavailable') {
    return new ApiError(error.message, { status: 503, type: 'api_error', code: 'redis_unavailable', retryAfter: 1 });
  }
  return new ApiError('Internal error; it has been logged', { status: 500, type: 'api_error', code: 'internal_error' });
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
  return (error, req, res, _next) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) {
      const span = requestSpan(res);
      const trace = span === null ? {} : spanLogFields(span);
      logger.error({ err: error instanceof Error ? { message: error.message, stack: error.stack } : error, method: req.method, path: req.path, request_id: res.locals.requestId, ...trace }, 'request failed');
    }
    if (res.headersSent) {
      res.end();
      return;
    }
    if (apiError.retryAfter !== undefined) res.setHeader('Retry-After', String(apiError.retryAfter));
    res.status(apiError.status).json({
      error: {
        type: apiError.type,
        code: apiError.code,
        message: apiError.message,
        param: apiError.param,
        ...(apiError.issues ? { issues: apiError.issues } : {}),
      },
    });
  };
}

export const notFoundHandler: RequestHandler = (req) => {
  throw new ApiError(`Unknown route ${req.method} ${req.path}`, { status: 404, type: 'not_found_error', code: 'route_not_found' });
};
