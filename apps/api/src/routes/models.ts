import { Router } from 'express';
import { targetEmbeds } from '@sluice/engine';
import type { ApiDeps } from '../deps.ts';

/** What this router uses of the API's dependencies. */
type ModelsDeps = Pick<ApiDeps, 'config'>;

/**
 * `GET /v1/models`: every route, then every direct `provider/model` target, in OpenAI's list shape.
 * `embeddings` says which take `POST /v1/embeddings`: a target whose provider type can embed with
 * its model (one the type does not know may), a route with at least one such target.
 */
export function modelsRouter(deps: ModelsDeps): Router {
  const router = Router();
  const created = Math.floor(Date.now() / 1000);
  const routes = Object.entries(deps.config.routes).map(([id, route]) => ({ id, targets: Array.isArray(route) ? route : route.targets }));
  const targets = new Set(routes.flatMap((route) => route.targets));
  const embeds = (target: string): boolean => targetEmbeds(deps.config, target);
  const data = [
    ...routes.map((route) => ({ id: route.id, object: 'model' as const, created, owned_by: 'sluice', embeddings: route.targets.some(embeds) })),
    ...[...targets].map((id) => ({ id, object: 'model' as const, created, owned_by: id.slice(0, id.indexOf('/')), embeddings: embeds(id) })),
  ];
  router.get('/v1/models', (_req, res) => {
    res.json({ object: 'list', data });
  });
  return router;
}
