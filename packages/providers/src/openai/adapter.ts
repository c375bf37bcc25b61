import { createOpenAICompatibleAdapter } from '../openai-compatible/adapter.ts';
import type { ProviderAdapter } from '../provider-adapter.ts';
import type { OpenAIProviderConfig } from './config-schema.ts';
import { isOpenAIRequestRefusal } from './request-refusal.ts';

/** OpenAI itself: the OpenAI-compatible wire format plus organization and project headers. */
export function openAIFromConfig(id: string, config: OpenAIProviderConfig): ProviderAdapter {
  const headers: Record<string, string> = { ...config.headers };
  if (config.organization) headers['openai-organization'] = config.organization;
  if (config.project) headers['openai-project'] = config.project;
  return createOpenAICompatibleAdapter({
    id,
    type: 'openai',
    baseUrl: config.base_url,
    apiKey: config.api_key,
    headers,
    timeoutMs: config.timeout_ms,
    flexTimeoutMs: config.flex.timeout_ms,
    connections: config.concurrency,
    refusesRequest: isOpenAIRequestRefusal,
  });
}
