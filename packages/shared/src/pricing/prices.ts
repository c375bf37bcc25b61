import type { GatewayConfig } from '../config/schema.ts';
import type { Usage } from '../schemas/chat.ts';
import type { PriceLookup } from '../routing/resolve-route.ts';

export interface Price {
  /** USD per 1M prompt tokens. */
  input: number;
  /** USD per 1M completion tokens. */
  output: number;
}

/** Prices from config `pricing` (USD per 1M tokens), keyed `provider/model`; the mock provider is free. */
export function createPriceLookup(config: GatewayConfig): PriceLookup {
  return (provider, model) => {
    const configured = config.pricing[`${provider}/${model}`];
    if (configured) return configured;
    if (config.providers[provider]?.type === 'mock') return { input: 0, output: 0 };
    return null;
  };
}

/** Cost of real usage, or null when the price is unknown (never a silent 0). */
export function costOf(usage: Usage | null, price: Price | null): number | null {
  if (usage === null || price === null) return null;
  return (usage.prompt_tokens * price.input + usage.completion_tokens * price.output) / 1_000_000;
}
