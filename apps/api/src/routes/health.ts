import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';

export function healthRouter(deps: ApiDeps): Router {
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
