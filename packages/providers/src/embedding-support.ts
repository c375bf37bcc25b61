import type { EmbeddingModel, EmbeddingSupport } from './provider-type.ts';
import { providerType } from './registry.ts';

/** Why a provider type cannot take an embeddings request for a model. */
export type EmbeddingRefusal = 'embeddings_unsupported' | 'not_an_embedding_model' | 'dimensions_unsupported' | 'token_input_unsupported';

/** What an embeddings request asks of its target beyond the model. */
export interface EmbeddingAsk {
  dimensions?: number | undefined;
  /** The inputs are token arrays, not text. */
  tokenInput: boolean;
}

/** What the type knows of the model: an embedding model, another kind of model, or nothing (null). */
function knownModel(support: EmbeddingSupport, model: string): EmbeddingModel | 'other' | null {
  let best: { length: number; known: EmbeddingModel | 'other' } | null = null;
  for (const [family, known] of Object.entries(support.models ?? {})) {
    if (model.startsWith(family) && (best === null || family.length > best.length)) best = { length: family.length, known };
  }
  for (const family of support.otherModels ?? []) {
    if (model.startsWith(family) && (best === null || family.length > best.length)) best = { length: family.length, known: 'other' };
  }
  return best?.known ?? null;
}

/**
 * Why a provider of `type` cannot embed with `model` as asked, or null when it can (or may: a model
 * the type does not know is tried, and its provider's answer decides).
 */
export function embeddingRefusal(type: string, model: string, ask: EmbeddingAsk): EmbeddingRefusal | null {
  const support = providerType(type)?.embeddings ?? null;
  if (support === null) return 'embeddings_unsupported';
  if (ask.tokenInput && !support.tokenInput) return 'token_input_unsupported';
  const known = knownModel(support, model);
  if (known === 'other') return 'not_an_embedding_model';
  if (ask.dimensions !== undefined && known !== null && (known.maxDimensions === null || ask.dimensions > known.maxDimensions)) return 'dimensions_unsupported';
  return null;
}

/** True when a provider of `type` can embed with `model` (or may: see `embeddingRefusal`). */
export const embedsWith = (type: string, model: string): boolean => embeddingRefusal(type, model, { tokenInput: false }) === null;
