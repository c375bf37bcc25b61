import { z } from 'zod';
import { ProviderCommonSchema } from '@sluice/shared';
import { HttpUrlSchema } from '../provider-type.ts';

/** `type: openai-compatible`: any server speaking the chat-completions wire format; `base_url` is required. */
export const OpenAICompatibleProviderSchema = ProviderCommonSchema.extend({ type: z.literal('openai-compatible'), base_url: HttpUrlSchema }).strict();

export type OpenAICompatibleProviderConfig = z.infer<typeof OpenAICompatibleProviderSchema>;
