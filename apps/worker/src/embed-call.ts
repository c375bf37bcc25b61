import { ProviderError, type CallOptions, type EmbeddingResult, type ProviderAdapter } from '@sluice/providers';
import type { EmbeddingRequest } from '@sluice/shared';
import type { JobRecord, RoutingCandidate } from '@sluice/engine';

/** How an embeddings call ended: the vectors, or the error (never a partial answer). */
export type EmbedEnd = { ok: true; answer: EmbeddingResult } | { ok: false; error: unknown; partial: null };

/** The embeddings call of an embeddings job (its adapter was chosen for having one). Never rejects. */
export function embedCall(record: JobRecord, candidate: RoutingCandidate, adapter: ProviderAdapter, options: CallOptions): Promise<EmbedEnd> {
  const { input = [], params } = record.request;
  const request: EmbeddingRequest = {
    model: candidate.model, input,
    ...(typeof params.dimensions === 'number' ? { dimensions: params.dimensions } : {}),
    ...(typeof params.user === 'string' ? { user: params.user } : {}),
  };
  const call = adapter.embed === undefined
    ? Promise.reject(new ProviderError(`${candidate.provider}: provider type ${adapter.type} cannot embed`, { kind: 'fatal', provider: candidate.provider, status: null, code: 'embeddings_unsupported' }))
    : adapter.embed(request, options);
  return call.then((answer) => ({ ok: true as const, answer }), (error: unknown) => ({ ok: false as const, error, partial: null }));
}
