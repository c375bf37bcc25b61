import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';

/** What this router uses of the API's dependencies. */
type ModelsDeps = Pick<ApiDeps, 'config'>;

/** `GET /v1/models`: every route, then every direct `provider/model` target, in OpenAI's list shape. */
export function modelsRouter(deps: ModelsDeps): Router {
  const router = Router();
  const created = Math.floor(Date.now() / 1000);
  const routes = Object.keys(deps.config.routes);
  const targets = new Set<string>();
  for (const route of Object.values(deps.config.routes)) {
    for (const target of Array.isArray(route) ? route : route.targets) targets.add(target);
  }
  const data = [
    ...routes.map((id) => ({ id, object: 'model' as const, created, owned_by: 'sluice' })),
    ...[...targets].map((id) => ({ id, object: 'model' as const, created, owned_by: id.slice(0, id.indexOf('/')) })),
  ];
  router.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data });
  });
  return router;
}
