import { z } from 'zod';
import { ProviderCommonSchema } from '@sluice/shared';
import { HttpUrlSchema, RequiredApiKeySchema } from '../provider-type.ts';

/** `type: openai`. */
export const OpenAIProviderSchema = ProviderCommonSchema.extend({
  type: z.literal('openai'),
  base_url: HttpUrlSchema.default('https://api.openai.com/v1'),
  api_key: RequiredApiKeySchema,
  /** Sent as `OpenAI-Organization`. */
  organization: z.string().optional(),
  /** Sent as `OpenAI-Project`. */
  project: z.string().optional(),
}).strict();

export type OpenAIProviderConfig = z.infer<typeof OpenAIProviderSchema>;
