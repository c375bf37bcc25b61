import { describe, expect, it } from 'vitest';
import { parseConfig } from '@sluice/providers';
import type { Usage } from '@sluice/shared';
import { costOf, createPriceLookup, type Price } from './prices.ts';

const { config } = parseConfig(
  {
    auth: { disabled: true },
    providers: { an: { type: 'anthropic', api_key: 'k' }, oa: { type: 'openai', api_key: 'k' }, local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1' } },
    pricing: {
      'local/cheap': { input: 1, output: 2, batch_discount: 0.4 },
      'local/plain': { input: 1, output: 1 },
      'an/claude-haiku-4-5': { input: 2, output: 4, cached_input: 0.2 },
    },
  },
  {},
  't',
);
const price = (target: string): Price => {
  const [provider = '', model = ''] = target.split('/');
  const found = createPriceLookup(config)(provider, model);
  if (found === null) throw new Error(`no price for ${target}`);
  return found;
};
const usage = (prompt: number, completion: number, details: Partial<{ cached: number; w5m: number; w1h: number; reasoning: number }> = {}): Usage => ({
  prompt_tokens: prompt,
  completion_tokens: completion,
  total_tokens: prompt + completion,
  prompt_tokens_details: { cached_tokens: details.cached ?? 0, cache_write_5m_tokens: details.w5m ?? 0, cache_write_1h_tokens: details.w1h ?? 0 },
  completion_tokens_details: { reasoning_tokens: details.reasoning ?? 0 },
});

describe('cost of cached prompts', () => {
  it('charges a cache read on a Claude model exactly 0.1× its input price (it was charged the full input price, 10× too much)', () => {
    const sonnet = price('an/claude-sonnet-4-5');
    const read = costOf(usage(1000, 0, { cached: 1000 }), sonnet, 'an/claude-sonnet-4-5');
    const uncached = costOf(usage(1000, 0), sonnet, 'an/claude-sonnet-4-5');
    expect(read.usd).toBe(0.0003); // 1,000 × $0.30 / 1M
    expect(uncached.usd).toBe(0.003); // 1,000 × $3 / 1M
    expect(read.details).toMatchObject({ input_usd_per_1m: 3, cached_input_usd_per_1m: 0.3, cache_write_5m_usd_per_1m: 3.75, cache_write_1h_usd_per_1m: 6 });
  });

  it('prices plain input, cache reads, 5-minute and 1-hour writes and output (reasoning within it) each at its rate', () => {
    // Claude Sonnet 4.5: 50 plain × $3 + 1,000 reads × $0.30 + 100 5-minute writes × $3.75 + 300 1-hour writes × $6 + 300 output × $15.
    const mixed = usage(1450, 300, { cached: 1000, w5m: 100, w1h: 300, reasoning: 120 });
    const cost = costOf(mixed, price('an/claude-sonnet-4-5'), 'an/claude-sonnet-4-5');
    expect(cost.usd).toBe(0.007125); // was (1,450 × $3 + 300 × $15) / 1M = 0.00885: reads at 10×, writes below their price
    expect(cost.details).toMatchObject({ discount: null, saved_usd: 0 });
  });

  it("prices OpenAI's cached tokens at the family's rate and knows of no write fee", () => {
    // o4-mini: 158 plain × $1.10 + 1,152 cached × $0.55 + 212 output × $4.40.
    expect(costOf(usage(1310, 212, { cached: 1152, reasoning: 192 }), price('oa/o4-mini'), 'oa/o4-mini').usd).toBeCloseTo(1740.2 / 1e6, 15);
    expect(price('oa/gpt-5').cached_input).toBe(0.125);
  });

  it('charges the input rate for cache tokens a price names no rate for, and never a negative plain count', () => {
    const plain = price('local/plain');
    expect(costOf(usage(1000, 0, { cached: 600, w5m: 200, w1h: 200 }), plain, 'local/plain').usd).toBe(0.001);
    expect(costOf(usage(10, 0, { cached: 30 }), plain, 'local/plain').usd).toBe(0.00003); // the reads as reported, no plain tokens
  });

  it('takes a config price whole: rates it leaves out are input, not the bundled ones', () => {
    const configured = price('an/claude-haiku-4-5');
    expect(configured).toEqual({ input: 2, output: 4, cached_input: 0.2, source: 'config' });
    // 1,000 reads × $0.20 + 1,000 5-minute writes × $2 (the input rate, not the bundled 1.25×).
    expect(costOf(usage(2000, 0, { cached: 1000, w5m: 1000 }), configured, 'an/claude-haiku-4-5').usd).toBe(0.0022);
  });
});

describe('cost by execution mode', () => {
  const mixed = usage(1450, 300, { cached: 1000, w5m: 100, w1h: 300 });

  it('halves flex and batch by default, on top of the cache rates, and says what was saved', () => {
    const sonnet = price('an/claude-sonnet-4-5');
    const flex = costOf(mixed, sonnet, 'an/claude-sonnet-4-5', 'flex');
    expect(flex.usd).toBe(0.0035625);
    expect(flex.details).toMatchObject({ discount: 'flex', saved_usd: 0.0035625 });
    const batch = costOf(mixed, sonnet, 'an/claude-sonnet-4-5', 'provider_batch');
    expect(batch.usd).toBe(0.0035625);
    expect(batch.details).toMatchObject({ discount: 'batch', saved_usd: 0.0035625 });
  });

  it("uses the price's own batch_discount, and leaves saved_usd null when the cost is", () => {
    const cheap = costOf(usage(1_000_000, 0), price('local/cheap'), 'local/cheap', 'provider_batch');
    expect(cheap.usd).toBe(0.4);
    expect(cheap.details.saved_usd).toBe(0.6);
    expect(costOf(usage(1_000_000, 0), price('local/cheap'), 'local/cheap', 'flex').usd).toBe(0.5);
    const unknown = costOf(mixed, null, 'local/other', 'provider_batch');
    expect(unknown.usd).toBeNull();
    expect(unknown.details).toMatchObject({ discount: 'batch', saved_usd: null, cached_input_usd_per_1m: null });
    expect(costOf(null, price('local/cheap'), 'local/cheap', 'flex').details).toMatchObject({ saved_usd: null, reason: expect.stringMatching(/^no_usage/) });
  });

  it('config pricing takes the cache rates and factors, and refuses a factor above 1 or an unknown field', () => {
    const base = { auth: { disabled: true }, providers: { local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1' } } };
    expect(() => parseConfig({ ...base, pricing: { 'local/m': { input: 1, output: 1, flex_discount: 1.5 } } }, {}, 't')).toThrow(/flex_discount/);
    expect(() => parseConfig({ ...base, pricing: { 'local/m': { input: 1, output: 1, cache_read: 0.1 } } }, {}, 't')).toThrow(/cache_read/);
    expect(() => parseConfig({ ...base, pricing: { 'local/m': { cached_input: 0.1 } } }, {}, 't')).toThrow(/input/);
  });
});
