import express, { type Express } from 'express';
import helmet from 'helmet';
import { exceedsJsonDepth, parseByteSize } from '@sluice/shared';
import type { ApiDeps } from './deps.ts';
import { requireAuth } from './middleware/auth.ts';
import { errorHandler, notFoundHandler } from './middleware/errors.ts';
import { requestId } from './middleware/request-id.ts';
import { healthRouter } from './routes/health.ts';
import { jobsRouter } from './routes/jobs.ts';
import { batchesRouter } from './routes/batches.ts';
import { BULL_BOARD_PATH, bullBoardRouter } from './routes/bull-board.ts';
import { chatCompletionsRouter } from './routes/chat-completions.ts';
import { deadLettersRouter } from './routes/dead-letters.ts';
import { embeddingsRouter } from './routes/embeddings.ts';
import { filesRouter } from './routes/files.ts';
import { metricsRouter } from './routes/metrics.ts';
import { modelsRouter } from './routes/models.ts';
import { providersRouter } from './routes/providers.ts';
import { responsesRouter } from './routes/responses.ts';
import { tenantsRouter } from './routes/tenants.ts';
import { usageRouter } from './routes/usage.ts';
import { webhooksRouter } from './routes/webhooks.ts';

/**
 * The security headers a JSON API needs (OWASP's REST list): a CSP that renders nothing, no framing,
 * no MIME sniffing, HSTS, same-origin resources. Helmet's browser-page headers (COOP, Origin-Agent-
 * Cluster, DNS prefetch, …) are left out: every header costs time on every response.
 */
const API_HEADERS = helmet({
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  crossOriginEmbedderPolicy: false,
  originAgentCluster: false,
  referrerPolicy: { policy: 'no-referrer' },
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
});

/** Builds the HTTP app from its dependencies; no env reads, no listening. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(requestId);
  // Bull Board's page runs its own scripts and styles; every other route gets helmet's strict headers.
  app.use(BULL_BOARD_PATH, helmet({ contentSecurityPolicy: false }), bullBoardRouter(deps));
  app.use(API_HEADERS);
  app.use(healthRouter(deps));
  app.use(metricsRouter(deps));
  if (deps.requestSpans !== null) app.use('/v1', deps.requestSpans);
  app.use('/v1', requireAuth(deps.auth));
  const maxDepth = deps.config.server.max_json_depth;
  app.use(
    express.json({
      limit: parseByteSize(deps.config.server.body_limit),
      strict: false,
      // Checked on the raw bytes before parsing: a deeply nested body overflows the stack later.
      verify: (_req, _res, body) => {
        if (exceedsJsonDepth(body, maxDepth)) throw Object.assign(new Error(`JSON nested deeper than ${maxDepth} levels (server.max_json_depth)`), { type: 'entity.too.deep' });
      },
    }),
  );
  app.use(jobsRouter(deps));
  app.use(chatCompletionsRouter(deps));
  app.use(responsesRouter(deps));
  app.use(embeddingsRouter(deps));
  app.use(modelsRouter(deps));
  app.use(providersRouter(deps));
  app.use(deadLettersRouter(deps));
  app.use(webhooksRouter(deps));
  app.use(filesRouter(deps));
  app.use(batchesRouter(deps));
  app.use(usageRouter(deps));
  app.use(tenantsRouter(deps));
  app.use(notFoundHandler);
  app.use(errorHandler(deps.logger));
  return app;
}
