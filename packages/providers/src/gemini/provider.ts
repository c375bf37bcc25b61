import { defineProviderType } from '../provider-type.ts';
import { geminiFromConfig } from './adapter.ts';
import { GeminiProviderSchema } from './config-schema.ts';
import { GEMINI_EMBEDDINGS } from './embeddings.ts';
import { GEMINI_CONTEXT_WINDOWS, GEMINI_PRICES } from './prices.ts';

/** Gemini's generateContent API: only the parameters `convert-request.ts` maps. */
export const geminiProvider = defineProviderType({
  configSchema: GeminiProviderSchema,
  createAdapter: geminiFromConfig,
  requiresApiKey: true,
  parameters: new Set([
    'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'seed', 'presence_penalty', 'frequency_penalty',
    'response_format', 'tools', 'tool_choice', 'user', 'top_k',
  ]),
  prices: GEMINI_PRICES,
  contextWindows: GEMINI_CONTEXT_WINDOWS,
  batch: true,
  embeddings: GEMINI_EMBEDDINGS,
  genAiProviderName: 'gcp.gemini',
});
