import type { GatewayConfig, ProviderConfig } from '@sluice/shared';
import { createMockAdapter } from './mock/adapter.ts';
import { openAICompatibleFromConfig } from './openai-compatible/adapter.ts';
import type { ProviderAdapter } from './provider-adapter.ts';

/** Builds the adapter for one provider config entry, by its wire format. */
export function createAdapter(id: string, config: ProviderConfig): ProviderAdapter {
  switch (config.type) {
    case 'mock':
      return createMockAdapter(id, config);
    case 'openai-compatible':
      return openAICompatibleFromConfig(id, config);
  }
}

/** One adapter per configured provider. */
export function createAdapters(config: GatewayConfig): Map<string, ProviderAdapter> {
  return new Map(Object.entries(config.providers).map(([id, provider]) => [id, createAdapter(id, provider)]));
}
