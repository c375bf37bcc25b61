import { describe, expect, it } from 'vitest';
import { genAiProviderName, PROVIDER_TYPES, providerDisabledReason, providerType, unsupportedParameters } from './registry.ts';

describe('the provider registry', () => {
  it('lists each type under the name its config schema takes', () => {
    for (const [name, type] of Object.entries(PROVIDER_TYPES)) {
      expect(type.configSchema.parse({ type: name, base_url: 'http://127.0.0.1:1/v1', api_key: 'k' }).type).toBe(name);
    }
    expect(providerType('toString')).toBeUndefined();
  });

  it('disables a keyed type without a key, and only that', () => {
    expect(providerDisabledReason({ type: 'anthropic', api_key: '' })).toBe('api_key is empty');
    expect(providerDisabledReason({ type: 'anthropic', api_key: 'k' })).toBeNull();
    expect(providerDisabledReason({ type: 'openai-compatible', api_key: '' })).toBeNull();
  });

  it('refuses parameters a type cannot honour and passes the rest', () => {
    expect(unsupportedParameters('anthropic', { temperature: 1, seed: 7, logit_bias: null })).toEqual(['seed']);
    expect(unsupportedParameters('openai', { seed: 7 })).toEqual([]);
  });

  it('names each vendor in traces by the GenAI conventions, and a many-vendor type by the provider id', () => {
    expect(genAiProviderName('primary', { type: 'openai' })).toBe('openai');
    expect(genAiProviderName('claude', { type: 'anthropic' })).toBe('anthropic');
    expect(genAiProviderName('g', { type: 'gemini' })).toBe('gcp.gemini');
    expect(genAiProviderName('groq', { type: 'openai-compatible' })).toBe('groq');
    expect(genAiProviderName('mock', { type: 'mock' })).toBe('mock');
  });
});
