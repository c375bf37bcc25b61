import type { EmbeddingSupport } from '../provider-type.ts';

/**
 * OpenAI's embedding models and the longest `dimensions` each can shorten its vectors to
 * (text-embedding-ada-002 takes none), its chat and other model families (never embedding
 * models), and token-array input, which `/v1/embeddings` takes.
 */
export const OPENAI_EMBEDDINGS: EmbeddingSupport = {
  models: {
    'text-embedding-3-small': { maxDimensions: 1536 },
    'text-embedding-3-large': { maxDimensions: 3072 },
    'text-embedding-ada-002': { maxDimensions: null },
  },
  otherModels: ['gpt-', 'chatgpt-', 'o1', 'o3', 'o4', 'davinci', 'babbage', 'whisper-', 'tts-', 'dall-e-', 'omni-moderation', 'text-moderation', 'computer-use'],
  tokenInput: true,
};
