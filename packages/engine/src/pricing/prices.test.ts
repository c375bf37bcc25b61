import { describe, expect, it } from 'vitest';
import { parseConfig, PRICE_TABLE_VERSION } from '@sluice/providers';
import { bundledPrice, isVersionSuffix } from './bundled-prices.ts';
import { costOf, createPriceLookup } from './prices.ts';

describe('prices', () => {
  it('finds bundled prices by model family, through date and alias suffixes', () => {
    expect(bundledPrice('openai', 'gpt-4o-mini')).toEqual({ input: 0.15, output: 0.6, cached_input: 0.075 });
    expect(bundledPrice('openai', 'gpt-4o-mini-2024-07-18')).toEqual({ input: 0.15, output: 0.6, cached_input: 0.075 });
    expect(bundledPrice('openai', 'gpt-4o-2024-08-06')).toEqual({ input: 2.5, output: 10, cached_input: 1.25 });
    expect(bundledPrice('anthropic', 'claude-3-5-haiku-latest')).toEqual({ input: 0.8, output: 4, cached_input: 0.08, cache_write_5m: 1, cache_write_1h: 1.6 });
    expect(bundledPrice('anthropic', 'claude-3-5-haiku-20241022')).toEqual({ input: 0.8, output: 4, cached_input: 0.08, cache_write_5m: 1, cache_write_1h: 1.6 });
    expect(bundledPrice('anthropic', 'claude-sonnet-4-5-20250929')).toEqual({ input: 3, output: 15, cached_input: 0.3, cache_write_5m: 3.75, cache_write_1h: 6 });
    expect(bundledPrice('gemini', 'gemini-2.0-flash-001')).toEqual({ input: 0.1, output: 0.4, cached_input: 0.025 });
    expect(bundledPrice('gemini', 'gemini-2.0-flash-lite')).toEqual({ input: 0.075, output: 0.3, cached_input: 0.01875 });
    expect(bundledPrice('openai', 'gpt-4o-mini-custom-finetune')).toBeNull();
    expect(bundledPrice('openai-compatible', 'gpt-4o-mini')).toBeNull();
  });

  it('prefers config pricing, knows the mock is free, and says when it knows nothing', () => {
    const { config } = parseConfig(
      {
        auth: { disabled: true },
        providers: { oa: { type: 'openai', api_key: 'k' }, local: { type: 'openai-compatible', base_url: 'http://127.0.0.1:1/v1' }, mock: { type: 'mock' } },
        pricing: { 'oa/gpt-4o-mini': { input: 1, output: 1 } },
      },
      {},
      't',
    );
    const price = createPriceLookup(config);
    expect(price('oa', 'gpt-4o-mini')).toEqual({ input: 1, output: 1, source: 'config' });
    expect(price('oa', 'gpt-4o')).toEqual({ input: 2.5, output: 10, cached_input: 1.25, source: `bundled:${PRICE_TABLE_VERSION}` });
    expect(price('mock', 'echo')).toEqual({ input: 0, output: 0, source: 'mock' });
    expect(price('local', 'llama3.1')).toBeNull();
    const unknown = costOf({ prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }, null, 'local/llama3.1');
    expect(unknown.usd).toBeNull();
    expect(unknown.details.reason).toMatch(/^no_price: .*pricing\."local\/llama3\.1"/);
    const known = costOf({ prompt_tokens: 1_000_000, completion_tokens: 500_000, total_tokens: 1_500_000 }, price('oa', 'gpt-4o'), 'oa/gpt-4o');
    expect(known.usd).toBeCloseTo(2.5 + 5, 10);
    expect(known.details).toEqual({
      price_source: `bundled:${PRICE_TABLE_VERSION}`, input_usd_per_1m: 2.5, output_usd_per_1m: 10, reason: null,
      cached_input_usd_per_1m: 1.25, cache_write_5m_usd_per_1m: 2.5, cache_write_1h_usd_per_1m: 2.5, discount: null, saved_usd: 0,
    });
    const batched = costOf({ prompt_tokens: 1_000_000, completion_tokens: 500_000, total_tokens: 1_500_000 }, price('oa', 'gpt-4o'), 'oa/gpt-4o', 'provider_batch');
    expect(batched.usd).toBeCloseTo(7.5 / 2, 10);
    expect(batched.details).toMatchObject({ discount: 'batch', saved_usd: 3.75 });
    expect(costOf(null, price('oa', 'gpt-4o'), 'oa/gpt-4o', 'flex').details).toMatchObject({ discount: 'flex', saved_usd: null });
  });
});

describe('version suffixes', () => {
  it('accepts what providers append and refuses the rest', () => {
    for (const suffix of ['-latest', '-2024-08-06', '-20241022', '-001', '-preview', '-preview-05-20', '-exp', '-exp-1206', '-v2', '-v1:0', '-latest-001', '-2024-08-06-preview']) {
      expect(isVersionSuffix(suffix), suffix).toBe(true);
    }
    for (const suffix of ['', 'latest', '-custom', '-1234', '-2024-08', '-preview-', '-previewx', '-v', '-v1:', '-latest!', '-exp-a!b']) {
      expect(isVersionSuffix(suffix), suffix).toBe(false);
    }
  });

  it('reads a crafted name in linear time (a backtracking pattern took minutes)', () => {
    const crafted = `gpt-4o${'-exp'.repeat(30)}!`;
    const longer = `gpt-4o${'-exp-a'.repeat(20_000)}!`;
    const started = performance.now();
    expect(bundledPrice('openai', crafted)).toBeNull();
    expect(bundledPrice('openai', longer)).toBeNull();
    expect(bundledPrice('openai', `gpt-4o${'-exp'.repeat(30)}`)).toEqual({ input: 2.5, output: 10, cached_input: 1.25 });
    // Well under a millisecond each; the bound leaves room for a loaded machine, far below minutes.
    expect(performance.now() - started).toBeLessThan(2_000);
  });
});
