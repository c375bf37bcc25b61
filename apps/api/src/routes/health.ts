import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';

/** What this router uses of the API's dependencies. */
type HealthDeps = Pick<ApiDeps, 'redis'>;

export function healthRouter(deps: HealthDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    try {
      await deps.redis.ping();
      res.json({ status: 'ready', redis: 'ok' });
    } catch (error) {
      res.status(503).json({ status: 'not_ready', redis: (error as Error).message });
    }
  });
  return router;
}
