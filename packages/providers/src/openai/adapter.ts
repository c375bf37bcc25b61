import { createOpenAICompatibleAdapter } from '../openai-compatible/adapter.ts';
import type { ProviderAdapter } from '../provider-adapter.ts';
import { createOpenAIBatchAdapter } from './batch.ts';
import type { OpenAIProviderConfig } from './config-schema.ts';
import { isOpenAIRequestRefusal } from './request-refusal.ts';

/** OpenAI itself: the OpenAI-compatible wire format plus organization and project headers, and the Batch API. */
export function openAIFromConfig(id: string, config: OpenAIProviderConfig): ProviderAdapter {
  const headers: Record<string, string> = { ...config.headers };
  if (config.organization) headers['openai-organization'] = config.organization;
  if (config.project) headers['openai-project'] = config.project;
  const adapter = createOpenAICompatibleAdapter({
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
  const batch = createOpenAIBatchAdapter({
    id,
    baseUrl: config.base_url,
    headers: { accept: 'application/json', ...headers, authorization: `Bearer ${config.api_key}` },
    timeoutMs: config.timeout_ms,
    refusesRequest: isOpenAIRequestRefusal,
  });
  return {
    ...adapter,
    batch,
    async close() {
      await Promise.all([adapter.close(), batch.close()]);
    },
  };
}
