import { z } from 'zod';
import { ProviderCommonSchema } from '@sluice/shared';
import { HttpUrlSchema, RequiredApiKeySchema } from '../provider-type.ts';

/** `type: gemini`. */
export const GeminiProviderSchema = ProviderCommonSchema.extend({
  type: z.literal('gemini'),
  base_url: HttpUrlSchema.default('https://generativelanguage.googleapis.com/v1beta'),
  api_key: RequiredApiKeySchema,
}).strict();

export type GeminiProviderConfig = z.infer<typeof GeminiProviderSchema>;
