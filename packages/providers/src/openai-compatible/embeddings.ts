import { decodeFloat32Base64, type EmbeddingRequest } from '@sluice/shared';
import { checkedVectors, estimatedEmbeddingUsage } from '../embedding-result.ts';
import type { RequestRefusalTest } from '../http/classify-error.ts';
import type { HttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type CallOptions, type EmbeddingResult } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import { OpenAIEmbeddingsResponseSchema, type OpenAIEmbeddingsResponse } from './wire-schemas.ts';

export interface EmbeddingsContext {
  http: HttpClient;
  provider: string;
  headers: Record<string, string>;
  refusesRequest: RequestRefusalTest;
}

/** The vectors in input order: the answer's entries sorted by `index` (a server may list them in any order), base64 ones decoded. */
function vectorsOf(provider: string, status: number, parsed: OpenAIEmbeddingsResponse, request: EmbeddingRequest): number[][] {
  const entries = [...parsed.data].sort((a, b) => a.index - b.index);
  if (entries.some((entry, position) => entry.index !== position)) {
    throw new ProviderError(`${provider}: malformed response: embedding indexes are not 0..${entries.length - 1}`, { kind: 'retryable', provider, status });
  }
  try {
    return checkedVectors(provider, status, entries.map((entry) => (typeof entry.embedding === 'string' ? decodeFloat32Base64(entry.embedding) : entry.embedding)), request.input);
  } catch (error) {
    if (error instanceof ProviderError) throw error;
    throw new ProviderError(`${provider}: malformed response: ${(error as Error).message}`, { kind: 'retryable', provider, status, cause: error });
  }
}

/**
 * `POST {base}/embeddings`, asking for floats: every OpenAI-shaped server speaks them, and Sluice
 * encodes base64 itself for the clients that ask for it. Usage the server leaves out is estimated.
 */
export async function embedOpenAI(context: EmbeddingsContext, request: EmbeddingRequest, call: CallOptions = {}): Promise<EmbeddingResult> {
  const body = {
    model: request.model, input: request.input, encoding_format: 'float',
    ...(request.dimensions === undefined ? {} : { dimensions: request.dimensions }),
    ...(request.user === undefined ? {} : { user: request.user }),
  };
  const response = await callJson(context.http, context.provider, 'POST', '/embeddings', { body, headers: callHeaders(context.headers, call), signal: call.signal, refusesRequest: context.refusesRequest });
  const parsed = parseWireBody(context.provider, response, OpenAIEmbeddingsResponseSchema);
  const vectors = vectorsOf(context.provider, response.status, parsed, request);
  const counted = parsed.usage ?? null;
  const usage = counted === null
    ? estimatedEmbeddingUsage(request.input)
    : { usage: { prompt_tokens: counted.prompt_tokens, total_tokens: counted.total_tokens ?? counted.prompt_tokens }, usageEstimated: false };
  return { vectors, model: parsed.model ?? request.model, ...usage, statusCode: response.status };
}
