import type { GatewayConfig } from '@sluice/shared';
import type { CostDetails } from '../jobs/job-types.ts';
import type { Usage } from '@sluice/shared';
import { bundledPrice, PRICE_TABLE_VERSION } from './price-table.ts';

export interface Price {
  /** USD per 1M prompt tokens. */
  input: number;
  /** USD per 1M completion tokens. */
  output: number;
  /** Where the price came from: `config`, `bundled:<version>` or `mock`. */
  source: string;
}

/** Price per 1M tokens of a target, or null when unknown. */
export type PriceLookup = (provider: string, model: string) => Price | null;

/** Prices from config `pricing` first, then the bundled table by the provider's wire format; the mock is free. */
export function createPriceLookup(config: GatewayConfig): PriceLookup {
  return (provider, model) => {
    const configured = config.pricing[`${provider}/${model}`];
    if (configured) return { ...configured, source: 'config' };
    const type = config.providers[provider]?.type;
    if (type === undefined) return null;
    if (type === 'mock') return { input: 0, output: 0, source: 'mock' };
    const bundled = bundledPrice(type, model);
    return bundled === null ? null : { ...bundled, source: `bundled:${PRICE_TABLE_VERSION}` };
  };
}

/** Cost of real usage; null with a reason when the price or the usage is unknown (never a silent 0). */
export function costOf(usage: Usage | null, price: Price | null, target: string): { usd: number | null; details: CostDetails } {
  const details: CostDetails = { price_source: price?.source ?? null, input_usd_per_1m: price?.input ?? null, output_usd_per_1m: price?.output ?? null, reason: null };
  if (price === null) return { usd: null, details: { ...details, reason: `no_price: no price for ${target}; add pricing."${target}" to the config` } };
  if (usage === null) return { usd: null, details: { ...details, reason: 'no_usage: the provider reported no token usage' } };
  return { usd: (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000, details };
}
