import type { GatewayConfig } from '@sluice/shared';
import type { CostDetails, ExecutionMode } from '../jobs/job-types.ts';
import type { Usage } from '@sluice/shared';
import { PRICE_TABLE_VERSION, providerType } from '@sluice/providers';
import { bundledPrice } from './bundled-prices.ts';

export interface Price {
  /** USD per 1M prompt tokens. */
  input: number;
  /** USD per 1M completion tokens. */
  output: number;
  /** Where the price came from: `config`, `bundled:<version>`, or the name of a free type (`mock`). */
  source: string;
}

/** Price per 1M tokens of a target, or null when unknown. */
export type PriceLookup = (provider: string, model: string) => Price | null;

/** Prices from config `pricing` first, then the bundled prices of the provider's type; a free type (the mock) costs nothing. */
export function createPriceLookup(config: GatewayConfig): PriceLookup {
  return (provider, model) => {
    const configured = config.pricing[`${provider}/${model}`];
    if (configured) return { ...configured, source: 'config' };
    const type = config.providers[provider]?.type;
    if (type === undefined) return null;
    if (providerType(type)?.free === true) return { input: 0, output: 0, source: type };
    const bundled = bundledPrice(type, model);
    return bundled === null ? null : { ...bundled, source: `bundled:${PRICE_TABLE_VERSION}` };
  };
}

/** The share of the real-time price a provider's batch API or flex tier charges. */
const DISCOUNTED_SHARE = 0.5;

/**
 * Cost of real usage in an execution mode (`provider_batch` and `flex` at their discounted price);
 * null with a reason when the price or the usage is unknown (never a silent 0).
 */
export function costOf(usage: Usage | null, price: Price | null, target: string, mode: ExecutionMode = 'realtime'): { usd: number | null; details: CostDetails } {
  const discount = mode === 'provider_batch' ? 'batch' : mode === 'flex' ? 'flex' : null;
  const details: CostDetails = { price_source: price?.source ?? null, input_usd_per_1m: price?.input ?? null, output_usd_per_1m: price?.output ?? null, reason: null, discount, saved_usd: null };
  if (price === null) return { usd: null, details: { ...details, reason: `no_price: no price for ${target}; add pricing."${target}" to the config` } };
  if (usage === null) return { usd: null, details: { ...details, reason: 'no_usage: the provider reported no token usage' } };
  const realtime = (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000;
  const usd = discount === null ? realtime : realtime * DISCOUNTED_SHARE;
  return { usd, details: { ...details, saved_usd: realtime - usd } };
}
