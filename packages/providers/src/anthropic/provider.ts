import { defineProviderType } from '../provider-type.ts';
import { anthropicFromConfig } from './adapter.ts';
import { AnthropicProviderSchema } from './config-schema.ts';
import { ANTHROPIC_CONTEXT_WINDOWS, ANTHROPIC_PRICES } from './prices.ts';

/** Anthropic's Messages API: only the parameters `convert-request.ts` maps. */
export const anthropicProvider = defineProviderType({
  configSchema: AnthropicProviderSchema,
  createAdapter: anthropicFromConfig,
  requiresApiKey: true,
  parameters: new Set(['max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'user', 'top_k']),
  prices: ANTHROPIC_PRICES,
  contextWindows: ANTHROPIC_CONTEXT_WINDOWS,
  batch: true,
  genAiProviderName: 'anthropic',
});
