import { describe, expect, it } from 'vitest';
import { ModelPriceSchema } from '@sluice/shared';
import { ANTHROPIC_PRICES } from './anthropic/prices.ts';
import { GEMINI_PRICES } from './gemini/prices.ts';
import { OPENAI_PRICES } from './openai/prices.ts';
import { PROVIDER_TYPES } from './registry.ts';

/** The cache rate of each family as a share of its input rate, rounded to hide float noise. */
const shares = (table: Readonly<Record<string, { input: number; cached_input?: number | undefined }>>): Record<string, number | null> =>
  Object.fromEntries(Object.entries(table).map(([family, price]) => [family, price.cached_input === undefined ? null : Math.round((price.cached_input / price.input) * 1000) / 1000]));

describe('bundled prices', () => {
  it('are valid config prices, no cache read dearer than input', () => {
    for (const [type, definition] of Object.entries(PROVIDER_TYPES)) {
      for (const [family, price] of Object.entries(definition.prices)) {
        expect(ModelPriceSchema.parse(price), `${type}/${family}`).toEqual(price);
        expect(price.cached_input ?? price.input, `${type}/${family}`).toBeLessThanOrEqual(price.input);
      }
    }
  });

  it('price cache reads by family: OpenAI 0.1× for gpt-5, 0.25× for gpt-4.1, 0.5× for gpt-4o and o-series', () => {
    expect(shares(OPENAI_PRICES)).toEqual({
      'gpt-5': 0.1, 'gpt-5-mini': 0.1, 'gpt-5-nano': 0.1, 'gpt-4.1': 0.25, 'gpt-4.1-mini': 0.25, 'gpt-4.1-nano': 0.25,
      'gpt-4o': 0.5, 'gpt-4o-mini': 0.5, o3: 0.5, 'o3-mini': 0.5, 'o4-mini': 0.5, o1: 0.5, 'gpt-4-turbo': null, 'gpt-3.5-turbo': null,
      'text-embedding-3-small': null, 'text-embedding-3-large': null, 'text-embedding-ada-002': null,
    });
    expect(Object.values(OPENAI_PRICES).every((price) => price.cache_write_5m === undefined && price.cache_write_1h === undefined)).toBe(true);
  });

  it('price Anthropic cache reads at 0.1×, 5-minute writes at 1.25× and 1-hour writes at 2× input', () => {
    for (const [family, price] of Object.entries(ANTHROPIC_PRICES)) {
      expect(price.cached_input, family).toBeCloseTo(price.input * 0.1, 12);
      expect(price.cache_write_5m, family).toBeCloseTo(price.input * 1.25, 12);
      expect(price.cache_write_1h, family).toBeCloseTo(price.input * 2, 12);
    }
  });

  it('price Gemini cache reads at 0.1× from 2.5 on, 0.25× before', () => {
    expect(shares(GEMINI_PRICES)).toEqual({
      'gemini-2.5-pro': 0.1, 'gemini-2.5-flash': 0.1, 'gemini-2.5-flash-lite': 0.1,
      'gemini-2.0-flash': 0.25, 'gemini-2.0-flash-lite': 0.25, 'gemini-1.5-pro': 0.25, 'gemini-1.5-flash': 0.25, 'gemini-embedding-001': null,
    });
  });

  it('price embedding models by input tokens only: text-embedding-3-small $0.02, -3-large $0.13, ada-002 $0.10, gemini-embedding-001 $0.15 per 1M', () => {
    const embedding = (table: Readonly<Record<string, { input: number; output: number }>>, families: string[]) => families.map((family) => [family, table[family]?.input, table[family]?.output]);
    expect(embedding(OPENAI_PRICES, ['text-embedding-3-small', 'text-embedding-3-large', 'text-embedding-ada-002'])).toEqual([
      ['text-embedding-3-small', 0.02, 0], ['text-embedding-3-large', 0.13, 0], ['text-embedding-ada-002', 0.1, 0],
    ]);
    expect(embedding(GEMINI_PRICES, ['gemini-embedding-001'])).toEqual([['gemini-embedding-001', 0.15, 0]]);
  });
});
