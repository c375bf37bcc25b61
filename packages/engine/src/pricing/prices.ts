import type { GatewayConfig, ModelPrice, Usage } from '@sluice/shared';
import type { CostDetails, ExecutionMode } from '../jobs/job-types.ts';
import { PRICE_TABLE_VERSION, providerType } from '@sluice/providers';
import { bundledPrice } from './bundled-prices.ts';

/** A target's price per 1M tokens (its cache rates and mode discounts included) and where it came from. */
export interface Price extends ModelPrice {
  /** Where the price came from: `config`, `bundled:<version>`, or the name of a free type (`mock`). */
  source: string;
}

/** Price per 1M tokens of a target, or null when unknown. */
export type PriceLookup = (provider: string, model: string) => Price | null;

/** The share of the real-time cost a mode pays when the price names none: half, as providers price batch and flex. */
export const DEFAULT_MODE_DISCOUNT = 0.5;

/** Prices from config `pricing` first (an entry replaces the bundled price whole), then the bundled prices of the provider's type; a free type (the mock) costs nothing. */
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

/** The rates a price charges, each cache rate defaulting to plain input (no discount is assumed where none is known). */
function ratesOf(price: Price): { cached: number; write5m: number; write1h: number } {
  return { cached: price.cached_input ?? price.input, write5m: price.cache_write_5m ?? price.input, write1h: price.cache_write_1h ?? price.input };
}

/**
 * The real-time cost in USD: prompt tokens that were neither cache reads nor cache writes at
 * `input`, cache reads at `cached_input`, 5-minute and 1-hour cache writes at their rates, and
 * completion tokens (reasoning included) at `output`.
 */
function realtimeCost(usage: Usage, price: Price): number {
  const rates = ratesOf(price);
  const cached = usage.prompt_tokens_details?.cached_tokens ?? 0;
  const write5m = usage.prompt_tokens_details?.cache_write_5m_tokens ?? 0;
  const write1h = usage.prompt_tokens_details?.cache_write_1h_tokens ?? 0;
  // A provider whose details overrun its own prompt count is not charged for negative plain input.
  const plain = Math.max(0, usage.prompt_tokens - cached - write5m - write1h);
  const per1M = plain * price.input + cached * rates.cached + write5m * rates.write5m + write1h * rates.write1h + usage.completion_tokens * price.output;
  return per1M / 1_000_000;
}

/** The discount each mode takes, as `cost_details.discount` names it. */
const DISCOUNTS: Record<ExecutionMode, CostDetails['discount']> = { realtime: null, flex: 'flex', provider_batch: 'batch' };

/** The share of the real-time cost a mode pays at this price. */
function factorOf(price: Price, mode: ExecutionMode): number {
  if (mode === 'provider_batch') return price.batch_discount ?? DEFAULT_MODE_DISCOUNT;
  if (mode === 'flex') return price.flex_discount ?? DEFAULT_MODE_DISCOUNT;
  return 1;
}

/**
 * Cost of real usage run in `mode` (default `realtime`): cache reads and writes at their own rates,
 * then the mode's discount on the whole; null with a reason when the price or the usage is unknown
 * (never a silent 0).
 */
export function costOf(usage: Usage | null, price: Price | null, target: string, mode: ExecutionMode = 'realtime'): { usd: number | null; details: CostDetails } {
  const rates = price === null ? null : ratesOf(price);
  const details: CostDetails = {
    price_source: price?.source ?? null, input_usd_per_1m: price?.input ?? null, output_usd_per_1m: price?.output ?? null, reason: null,
    cached_input_usd_per_1m: rates?.cached ?? null, cache_write_5m_usd_per_1m: rates?.write5m ?? null, cache_write_1h_usd_per_1m: rates?.write1h ?? null,
    discount: DISCOUNTS[mode], saved_usd: null,
  };
  if (price === null) return { usd: null, details: { ...details, reason: `no_price: no price for ${target}; add pricing."${target}" to the config` } };
  if (usage === null) return { usd: null, details: { ...details, reason: 'no_usage: the provider reported no token usage' } };
  const realtime = realtimeCost(usage, price);
  const usd = realtime * factorOf(price, mode);
  return { usd, details: { ...details, saved_usd: realtime - usd } };
}
