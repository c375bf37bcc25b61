import { z } from 'zod';
import { ProviderCommonSchema } from '@sluice/shared';

/** `type: mock`: the offline provider. */
export const MockProviderSchema = ProviderCommonSchema.extend({
  type: z.literal('mock'),
  /** Simulated latency per call. Default 50. */
  latency_ms: z.number().int().min(0).default(50),
  /** Share of calls that fail with a retryable 500, 0..1. Default 0. */
  failure_rate: z.number().min(0).max(1).default(0),
  /** Streamed answers: the pause between two chunks, after `latency_ms` before the first. Default 0. */
  stream_chunk_ms: z.number().int().min(0).default(0),
}).strict();

export type MockProviderConfig = z.infer<typeof MockProviderSchema>;
