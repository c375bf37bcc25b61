import { createHash } from 'node:crypto';
import type { GatewayConfig } from '@sluice/shared';
import { splitJobRequest, type AnyJobRequest } from '../schemas/job-request.ts';

/** The value with every object's keys in sorted order (arrays keep theirs), so key order never changes a digest. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    const inner = (value as Record<string, unknown>)[key];
    if (inner !== undefined) sorted[key] = canonical(inner);
  }
  return sorted;
}

/**
 * The response cache key of a request (scoped to its tenant by the Redis key): the SHA-256 of the
 * normalized `model` as asked, `messages`, every provider-bound parameter and `fallbacks`. Fallbacks
 * count because they change which targets may answer; Sluice's other fields (priority, tier,
 * deadline, metadata, webhook, cache) do not change what is asked of a provider, so they do not.
 * An embeddings request's key adds its endpoint and inputs (a chat request's is as it always was).
 */
export function responseCacheKey(request: AnyJobRequest): string {
  const { messages, params, endpoint, input } = splitJobRequest(request);
  const embeddings = endpoint === undefined ? {} : { endpoint, input };
  const normalized = canonical({ v: 1, model: request.model, messages, params, fallbacks: request.fallbacks, ...embeddings });
  return createHash('sha256').update(JSON.stringify(normalized)).digest('hex');
}

/**
 * How long the request's answer is cached: its own `cache.ttl_s` when it sends one (0: not at all),
 * else its route's `cache_ttl_s`, else 0 (no caching). A streamed request shares entries with the
 * same request not streamed: a hit streams the stored answer.
 */
export function cacheTtlOf(config: GatewayConfig, request: AnyJobRequest): number {
  if (request.cache !== undefined) return request.cache.ttl_s;
  const route = config.routes[request.model];
  return route === undefined || Array.isArray(route) ? 0 : (route.cache_ttl_s ?? 0);
}
