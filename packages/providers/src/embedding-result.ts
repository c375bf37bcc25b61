import { estimateEmbeddingTokens, type EmbeddingInput, type EmbeddingUsage } from '@sluice/shared';
import { ProviderError } from './provider-error.ts';

/**
 * The vectors of a 2xx answer when there is one per input, each a list of finite numbers; else the
 * answer is malformed, a retryable failure like any malformed body.
 */
export function checkedVectors(provider: string, status: number, vectors: readonly number[][], input: EmbeddingInput): number[][] {
  const malformed = (why: string): ProviderError => new ProviderError(`${provider}: malformed response: ${why}`, { kind: 'retryable', provider, status });
  if (vectors.length !== input.length) throw malformed(`${vectors.length} embeddings for ${input.length} inputs`);
  for (const vector of vectors) if (vector.length === 0 || !vector.every(Number.isFinite)) throw malformed('an embedding that is empty or not finite numbers');
  return [...vectors];
}

/** The usage of inputs the provider did not count: Sluice's estimate, marked as one. */
export function estimatedEmbeddingUsage(input: EmbeddingInput): { usage: EmbeddingUsage; usageEstimated: true } {
  const tokens = estimateEmbeddingTokens(input);
  return { usage: { prompt_tokens: tokens, total_tokens: tokens }, usageEstimated: true };
}
