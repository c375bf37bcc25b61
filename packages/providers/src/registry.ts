import type { GatewayConfig, ProviderConfig } from '@sluice/shared';
import { providerDisabledReason } from '@sluice/shared';
import { anthropicFromConfig } from './anthropic/adapter.ts';
import { geminiFromConfig } from './gemini/adapter.ts';
import { createMockAdapter } from './mock/adapter.ts';
import { openAIFromConfig } from './openai/adapter.ts';
import { openAICompatibleFromConfig } from './openai-compatible/adapter.ts';
import type { ProviderAdapter } from './provider-adapter.ts';

/** Builds the adapter for one provider config entry, by its wire format. */
export function createAdapter(id: string, config: ProviderConfig): ProviderAdapter {
  switch (config.type) {
    case 'mock':
      return createMockAdapter(id, config);
    case 'openai-compatible':
      return openAICompatibleFromConfig(id, config);
    case 'openai':
      return openAIFromConfig(id, config);
    case 'anthropic':
      return anthropicFromConfig(id, config);
    case 'gemini':
      return geminiFromConfig(id, config);
    default: {
      const unknown: never = config;
      throw new Error(`no adapter for provider type ${(unknown as { type: string }).type}`);
    }
  }
}

/** One adapter per enabled provider (a keyed provider without a key gets none). */
export function createAdapters(config: GatewayConfig): Map<string, ProviderAdapter> {
  return new Map(
    Object.entries(config.providers)
      .filter(([, provider]) => providerDisabledReason(provider) === null)
      .map(([id, provider]) => [id, createAdapter(id, provider)]),
  );
}
