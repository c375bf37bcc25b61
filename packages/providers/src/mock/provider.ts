import { defineProviderType } from '../provider-type.ts';
import { createMockAdapter } from './adapter.ts';
import { MockProviderSchema } from './config-schema.ts';

/** The offline mock: every parameter accepted, every model free, and every model embeds (text or tokens, any `dimensions`). */
export const mockProvider = defineProviderType({
  configSchema: MockProviderSchema,
  createAdapter: (id, config) => createMockAdapter(id, config),
  free: true,
  embeddings: { tokenInput: true },
});
