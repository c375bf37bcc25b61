import { createHash } from 'node:crypto';
import { estimateEmbeddingTokens, type EmbeddingRequest } from '@sluice/shared';
import type { EmbeddingResult } from '../provider-adapter.ts';

/** The length of the mock's vectors when a request names no `dimensions`. */
export const MOCK_EMBEDDING_DIMENSIONS = 16;

/**
 * The mock's vector for one input: the same input always gives the same vector, whatever else the
 * request holds. Each value is a multiple of 1/128 in [-1, 1), so float32 holds it exactly and
 * the base64 form decodes to the very same numbers.
 */
export function mockEmbedding(input: string | readonly number[], dimensions: number = MOCK_EMBEDDING_DIMENSIONS): number[] {
  const seed = JSON.stringify(input);
  const vector: number[] = [];
  for (let block = 0; vector.length < dimensions; block += 1) {
    for (const byte of createHash('sha256').update(`${block}:${seed}`).digest()) {
      if (vector.length === dimensions) break;
      vector.push((byte - 128) / 128);
    }
  }
  return vector;
}

/** The mock's answer to an embeddings request: a vector per input, tokens counted as Sluice estimates them. */
export function mockEmbeddings(request: EmbeddingRequest): Omit<EmbeddingResult, 'statusCode'> {
  const tokens = estimateEmbeddingTokens(request.input);
  return {
    vectors: request.input.map((input) => mockEmbedding(input, request.dimensions)),
    model: request.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens },
    usageEstimated: false,
  };
}
