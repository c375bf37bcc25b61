import type { GatewayConfig, ProviderConfig } from '@sluice/shared';
import { anthropicProvider } from './anthropic/provider.ts';
import { geminiProvider } from './gemini/provider.ts';
import { mockProvider } from './mock/provider.ts';
import { openAIProvider } from './openai/provider.ts';
import { openAICompatibleProvider } from './openai-compatible/provider.ts';
import type { ProviderAdapter } from './provider-adapter.ts';
import type { ProviderType } from './provider-type.ts';

/**
 * Every provider type by its config `type`: one line each. A type's folder holds everything
 * Sluice knows about it (config schema, adapter, supported parameters, bundled prices and context
 * windows); config validation, routing, pricing and metrics read it from here.
 */
export const PROVIDER_TYPES: Readonly<Record<string, ProviderType>> = {
  mock: mockProvider,
  'openai-compatible': openAICompatibleProvider,
  openai: openAIProvider,
  anthropic: anthropicProvider,
  gemini: geminiProvider,
};

/** The registered type of that name, or undefined. */
export function providerType(type: string): ProviderType | undefined {
  return Object.hasOwn(PROVIDER_TYPES, type) ? PROVIDER_TYPES[type] : undefined;
}

/** `gen_ai.provider.name` of a provider's calls in traces: its type's vendor name, else the provider's id. */
export function genAiProviderName(id: string, config: Pick<ProviderConfig, 'type'>): string {
  return providerType(config.type)?.genAiProviderName ?? id;
}

/** Builds the adapter for one provider config entry, by its type. */
export function createAdapter(id: string, config: ProviderConfig): ProviderAdapter {
  const type = providerType(config.type);
  if (type === undefined) throw new Error(`no adapter for provider type ${config.type}`);
  return type.createAdapter(id, config);
}

/** Why a configured provider cannot take jobs (a type that needs a key, without one), or null when it can. */
export function providerDisabledReason(provider: { type: string; api_key?: string | undefined }): string | null {
  return providerType(provider.type)?.requiresApiKey === true && !provider.api_key ? 'api_key is empty' : null;
}

/** The parameters of `params` that a provider of `type` cannot honour. */
export function unsupportedParameters(type: string, params: Record<string, unknown>): string[] {
  const supported = providerType(type)?.parameters ?? 'any';
  if (supported === 'any') return [];
  return Object.keys(params).filter((name) => params[name] !== undefined && params[name] !== null && !supported.has(name));
}

/** One adapter per enabled provider (a keyed provider without a key gets none). */
export function createAdapters(config: GatewayConfig): Map<string, ProviderAdapter> {
  return new Map(
    Object.entries(config.providers)
      .filter(([, provider]) => providerDisabledReason(provider) === null)
      .map(([id, provider]) => [id, createAdapter(id, provider)]),
  );
}
