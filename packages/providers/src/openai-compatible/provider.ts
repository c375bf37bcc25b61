import { defineProviderType } from '../provider-type.ts';
import { openAICompatibleFromConfig } from './adapter.ts';
import { OpenAICompatibleProviderSchema } from './config-schema.ts';

/**
 * Any chat-completions server: every parameter passes through; no bundled prices (config `pricing`
 * names them). Its `/embeddings` takes any model, `dimensions` and token arrays as asked: the
 * server's answer decides.
 */
export const openAICompatibleProvider = defineProviderType({
  configSchema: OpenAICompatibleProviderSchema,
  createAdapter: openAICompatibleFromConfig,
  embeddings: { tokenInput: true },
});
