import { z } from 'zod';
import { ProviderCommonSchema } from '@sluice/shared';
import { HttpUrlSchema, RequiredApiKeySchema } from '../provider-type.ts';

/** `type: anthropic`. */
export const AnthropicProviderSchema = ProviderCommonSchema.extend({
  type: z.literal('anthropic'),
  base_url: HttpUrlSchema.default('https://api.anthropic.com'),
  api_key: RequiredApiKeySchema,
  /** Sent as `anthropic-version`. Default `2023-06-01`. */
  anthropic_version: z.string().default('2023-06-01'),
  /** `max_tokens` when a job names none (the Messages API requires one). Default 4096. */
  default_max_tokens: z.number().int().positive().default(4096),
}).strict();

export type AnthropicProviderConfig = z.infer<typeof AnthropicProviderSchema>;
