import { defineProviderType } from '../provider-type.ts';
import { openAIFromConfig } from './adapter.ts';
import { OpenAIProviderSchema } from './config-schema.ts';
import { OPENAI_EMBEDDINGS } from './embeddings.ts';
import { OPENAI_CONTEXT_WINDOWS, OPENAI_PRICES } from './prices.ts';

/** OpenAI: the chat-completions wire format, so every parameter passes through. */
export const openAIProvider = defineProviderType({
  configSchema: OpenAIProviderSchema,
  createAdapter: openAIFromConfig,
  requiresApiKey: true,
  prices: OPENAI_PRICES,
  contextWindows: OPENAI_CONTEXT_WINDOWS,
  batch: true,
  flex: true,
  embeddings: OPENAI_EMBEDDINGS,
  genAiProviderName: 'openai',
});
