import { endianness } from 'node:os';
import { z } from 'zod';

/** The inputs of one embeddings request as adapters receive them: texts, or token arrays (one input of token ids each). */
export type EmbeddingInput = string[] | number[][];

/** What a provider adapter receives for an embeddings call: the provider's own model name and the inputs, in order. */
export interface EmbeddingRequest {
  model: string;
  input: EmbeddingInput;
  /** The length each vector should have, for models that can shorten theirs. */
  dimensions?: number;
  /** The client's end-user id, for providers that take one. */
  user?: string;
}

/** How vectors go out: JSON numbers, or the standard base64 of their float32 little-endian bytes. */
export const EncodingFormatSchema = z.enum(['float', 'base64']);
export type EncodingFormat = z.infer<typeof EncodingFormatSchema>;

const TokenCountSchema = z.number().int().nonnegative();

/** Embeddings usage in OpenAI's shape: only prompt tokens count. */
export const EmbeddingUsageSchema = z.object({ prompt_tokens: TokenCountSchema, total_tokens: TokenCountSchema }).loose();
export type EmbeddingUsage = z.infer<typeof EmbeddingUsageSchema>;

/** One vector of an embeddings answer: numbers, or base64 when the request asked for it. */
export const EmbeddingSchema = z.object({
  object: z.literal('embedding'),
  index: z.number().int().nonnegative(),
  embedding: z.union([z.array(z.number()), z.string()]),
}).loose();
export type Embedding = z.infer<typeof EmbeddingSchema>;

/** The answer of an embeddings request: an OpenAI `list` of `embedding` objects, one per input in input order. */
export const EmbeddingListSchema = z.object({
  object: z.literal('list'),
  data: z.array(EmbeddingSchema),
  model: z.string(),
  usage: EmbeddingUsageSchema,
}).loose();
export type EmbeddingList = z.infer<typeof EmbeddingListSchema>;

const LITTLE_ENDIAN = endianness() === 'LE';

/** The standard, padded base64 of a vector's float32 little-endian bytes (what the openai SDK decodes). */
export function encodeFloat32Base64(vector: readonly number[]): string {
  if (LITTLE_ENDIAN) return Buffer.from(Float32Array.from(vector).buffer).toString('base64');
  const bytes = Buffer.alloc(vector.length * 4);
  vector.forEach((value, index) => bytes.writeFloatLE(value, index * 4));
  return bytes.toString('base64');
}

/** A vector back from its float32 little-endian base64; throws when the bytes are not whole floats. */
export function decodeFloat32Base64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) throw new Error(`base64 embedding of ${bytes.length} bytes is not a whole number of float32 values`);
  const vector = new Array<number>(bytes.length / 4);
  for (let index = 0; index < vector.length; index += 1) vector[index] = bytes.readFloatLE(index * 4);
  return vector;
}

/** The answer to an embeddings request: the vectors in input order, in the encoding the client asked for. */
export function embeddingList(vectors: readonly number[][], model: string, usage: EmbeddingUsage, format: EncodingFormat): EmbeddingList {
  return {
    object: 'list',
    data: vectors.map((vector, index) => ({ object: 'embedding', index, embedding: format === 'base64' ? encodeFloat32Base64(vector) : vector })),
    model,
    usage: { prompt_tokens: usage.prompt_tokens, total_tokens: usage.total_tokens },
  };
}

/** Rough token count of embeddings inputs before a provider counts: 4 characters a token for texts (at least 1), the length of token arrays. */
export function estimateEmbeddingTokens(input: EmbeddingInput): number {
  let tokens = 0;
  for (const item of input) tokens += typeof item === 'string' ? Math.max(1, Math.ceil(item.length / 4)) : item.length;
  return tokens;
}
