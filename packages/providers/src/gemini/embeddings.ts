import type { EmbeddingRequest } from '@sluice/shared';
import { checkedVectors, estimatedEmbeddingUsage } from '../embedding-result.ts';
import type { HttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type CallOptions, type EmbeddingResult } from '../provider-adapter.ts';
import type { EmbeddingSupport } from '../provider-type.ts';
import { ProviderError } from '../provider-error.ts';
import { isGeminiRequestRefusal } from './request-refusal.ts';
import { GeminiBatchEmbedResponseSchema } from './wire-schemas.ts';

/**
 * Gemini's embedding models and the longest `outputDimensionality` each takes (embedding-001 takes
 * none); its generative families are not embedding models. Input is text only: Gemini takes no
 * token ids.
 */
export const GEMINI_EMBEDDINGS: EmbeddingSupport = {
  models: {
    'gemini-embedding': { maxDimensions: 3072 },
    'text-embedding-004': { maxDimensions: 768 },
    'embedding-001': { maxDimensions: null },
  },
  otherModels: ['gemini-', 'gemma-', 'learnlm-', 'imagen-', 'veo-'],
  tokenInput: false,
};

/** Requests `batchEmbedContents` takes at once ("at most 100 requests can be in one batch"). */
export const GEMINI_EMBED_BATCH = 100;

export interface GeminiEmbeddingsContext {
  http: HttpClient;
  provider: string;
  headers: Record<string, string>;
}

/**
 * `POST /models/{model}:batchEmbedContents`, 100 texts a request, one request after another (the
 * first failure fails the call). Gemini reports no token usage for embeddings: it is estimated
 * from the text, and marked estimated.
 */
export async function embedGemini(context: GeminiEmbeddingsContext, request: EmbeddingRequest, call: CallOptions = {}): Promise<EmbeddingResult> {
  const { http, provider, headers } = context;
  const texts = request.input;
  if (!texts.every((text) => typeof text === 'string')) {
    throw new ProviderError(`${provider}: Gemini embeds text, not token arrays`, { kind: 'fatal', provider, status: null, code: 'provider_token_input_unsupported' });
  }
  const model = request.model.replace(/^models\//, '');
  const path = `/models/${encodeURIComponent(model)}:batchEmbedContents`;
  const vectors: number[][] = [];
  let status = 200;
  for (let start = 0; start < texts.length; start += GEMINI_EMBED_BATCH) {
    const requests = texts.slice(start, start + GEMINI_EMBED_BATCH).map((text) => ({
      model: `models/${model}`,
      content: { role: 'user', parts: [{ text }] },
      ...(request.dimensions === undefined ? {} : { outputDimensionality: request.dimensions }),
    }));
    const response = await callJson(http, provider, 'POST', path, { body: { requests }, headers: callHeaders(headers, call), signal: call.signal, refusesRequest: isGeminiRequestRefusal });
    status = response.status;
    vectors.push(...parseWireBody(provider, response, GeminiBatchEmbedResponseSchema).embeddings.map((embedding) => embedding.values));
  }
  return { vectors: checkedVectors(provider, status, vectors, texts), model, ...estimatedEmbeddingUsage(texts), statusCode: status };
}
