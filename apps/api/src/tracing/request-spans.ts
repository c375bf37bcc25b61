// Loaded only when tracing is on (see `api-runtime.ts`).
import type { Request, RequestHandler, Response } from 'express';
import { ATTR_HTTP_REQUEST_METHOD, ATTR_HTTP_RESPONSE_STATUS_CODE, ATTR_HTTP_ROUTE, ATTR_NETWORK_PROTOCOL_VERSION, ATTR_URL_PATH, ATTR_URL_SCHEME, ATTR_USER_AGENT_ORIGINAL } from '@opentelemetry/semantic-conventions';
import { SLUICE_ATTRIBUTES, type Span, type TraceContext, type Tracing } from '@sluice/shared';
import type { Principal } from '../middleware/auth.ts';

/** The client's trace context, when its request carries a `traceparent`. */
function clientContext(req: Request): TraceContext | null {
  const { traceparent, tracestate } = req.headers;
  if (typeof traceparent !== 'string') return null;
  return typeof tracestate === 'string' ? { traceparent, tracestate } : { traceparent };
}

/** Names the span after the route that answered (`POST /v1/jobs/:id/cancel`) and records how it ended. */
function endRequestSpan(span: Span, req: Request, res: Response): void {
  const route = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof route === 'string') span.updateName(`${req.method} ${route}`);
  span.setAttributes({
    [ATTR_HTTP_ROUTE]: typeof route === 'string' ? route : undefined,
    [ATTR_HTTP_RESPONSE_STATUS_CODE]: res.statusCode,
    [SLUICE_ATTRIBUTES.tenant]: (res.locals.principal as Principal | undefined)?.tenant,
  });
  // A server span is in error for a 5xx only: a 4xx is the client's mistake, answered as designed.
  if (res.statusCode >= 500) span.fail(String(res.statusCode));
  span.end();
}

/**
 * A SERVER span per `/v1` request, continuing the client's `traceparent` (or starting a trace). It
 * is the parent of every span of a job the request submits; the handlers find it as `requestSpan`.
 * Only the path is recorded of the URL, and nothing of the body.
 */
export function requestSpans(tracing: Tracing): RequestHandler {
  return (req, res, next) => {
    const span = tracing.startSpan(req.method, {
      kind: 'server',
      parent: clientContext(req),
      attributes: {
        [ATTR_HTTP_REQUEST_METHOD]: req.method,
        [ATTR_URL_PATH]: req.originalUrl.split('?', 1)[0],
        [ATTR_URL_SCHEME]: req.protocol,
        [ATTR_NETWORK_PROTOCOL_VERSION]: req.httpVersion,
        [ATTR_USER_AGENT_ORIGINAL]: req.headers['user-agent'],
        [SLUICE_ATTRIBUTES.requestId]: res.locals.requestId as string | undefined,
      },
    });
    res.locals.span = span;
    res.once('close', () => endRequestSpan(span, req, res));
    next();
  };
}
