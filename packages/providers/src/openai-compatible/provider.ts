import { defineProviderType } from '../provider-type.ts';
import { openAICompatibleFromConfig } from './adapter.ts';
import { OpenAICompatibleProviderSchema } from './config-schema.ts';

/** Any chat-completions server: every parameter passes through; no bundled prices (config `pricing` names them). */
export const openAICompatibleProvider = defineProviderType({
  configSchema: OpenAICompatibleProviderSchema,
  createAdapter: openAICompatibleFromConfig,
});
