import type { GatewayConfig } from '@sluice/shared';
import { hasBundledPrice } from '../pricing/bundled-prices.ts';

/** What a model a client named freely is counted as once the bounds below are reached. */
export const OTHER_MODEL = 'other';
/** Distinct models per provider, beyond those the config or the bundled prices name, that get a metric label of their own in a process. */
export const MAX_UNLISTED_MODEL_LABELS = 20;

export interface ModelCatalog {
  /** True for models the config (routes, pricing) or their type's bundled prices name exactly. */
  listed(provider: string, model: string): boolean;
  /** The `model` label of a metric: a listed model, or one of the first unlisted ones per provider; else `other`. */
  label(provider: string, model: string): string;
}

const catalogs = new WeakMap<GatewayConfig, ModelCatalog>();

/**
 * Model names as labels and usage keys without unbounded cardinality: a client may send any
 * `mock/<name>` or `local/<name>`, and each new name would otherwise be a new time series and a new
 * set of usage fields forever.
 */
export function modelCatalog(config: GatewayConfig): ModelCatalog {
  const cached = catalogs.get(config);
  if (cached !== undefined) return cached;
  const named = new Set<string>(Object.keys(config.pricing));
  for (const route of Object.values(config.routes)) for (const target of Array.isArray(route) ? route : route.targets) named.add(target);
  const unlisted = new Map<string, Set<string>>();
  const catalog: ModelCatalog = {
    listed(provider, model) {
      if (named.has(`${provider}/${model}`)) return true;
      const type = config.providers[provider]?.type;
      return type !== undefined && hasBundledPrice(type, model);
    },
    label(provider, model) {
      if (catalog.listed(provider, model)) return model;
      let seen = unlisted.get(provider);
      if (seen === undefined) unlisted.set(provider, (seen = new Set()));
      if (seen.has(model)) return model;
      if (seen.size >= MAX_UNLISTED_MODEL_LABELS) return OTHER_MODEL;
      seen.add(model);
      return model;
    },
  };
  catalogs.set(config, catalog);
  return catalog;
}
