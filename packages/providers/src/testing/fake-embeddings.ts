import { createHash } from 'node:crypto';
import { encodeFloat32Base64 } from '@sluice/shared';
import type { RecordedRequest } from './fake-provider-server.ts';

/** The length of the fakes' vectors when a request names no dimensions. */
export const FAKE_EMBEDDING_DIMENSIONS = 8;
/** Tokens the OpenAI-format fake reports per input. */
export const FAKE_EMBEDDING_TOKENS_PER_INPUT = 3;

/**
 * The fakes' vector for one input (a text or a token array): deterministic, and made of multiples
 * of 1/64 so float32 holds each exactly (a base64 answer decodes to the same numbers). `salt`
 * tells apart fakes that should answer differently.
 */
export function fakeEmbedding(input: string | readonly number[], dimensions: number = FAKE_EMBEDDING_DIMENSIONS, salt = ''): number[] {
  const digest = createHash('sha256').update(`${salt}|${JSON.stringify(input)}`).digest();
  return Array.from({ length: dimensions }, (_, index) => ((digest[index % digest.length] ?? 0) - 128 + Math.floor(index / digest.length)) / 64);
}

/** True for an embeddings request of the OpenAI format (`POST …/embeddings`). */
export const isOpenAIEmbeddingsRequest = (request: RecordedRequest): boolean => request.method === 'POST' && /\/embeddings(\?|$)/.test(request.path);

/** True for a Gemini `:batchEmbedContents` request. */
export const isGeminiEmbeddingsRequest = (request: RecordedRequest): boolean => request.method === 'POST' && request.path.includes(':batchEmbedContents');

/**
 * OpenAI's embeddings answer to a request: a vector per input as numbers, or base64 when asked,
 * listed in reverse order with their `index` (the spec promises no order; clients sort by index).
 */
export function echoOpenAIEmbeddings(request: RecordedRequest, salt = ''): Record<string, unknown> {
  const body = (request.body ?? {}) as { model?: string; input?: unknown; dimensions?: number; encoding_format?: string };
  const raw = body.input;
  const inputs: (string | number[])[] = typeof raw === 'string' ? [raw] : Array.isArray(raw) && raw.every((item) => typeof item === 'number') ? [raw as number[]] : ((raw ?? []) as (string | number[])[]);
  const data = inputs.map((input, index) => {
    const vector = fakeEmbedding(input, body.dimensions, salt);
    return { object: 'embedding', index, embedding: body.encoding_format === 'base64' ? encodeFloat32Base64(vector) : vector };
  });
  const tokens = inputs.length * FAKE_EMBEDDING_TOKENS_PER_INPUT;
  return { object: 'list', data: data.reverse(), model: body.model ?? 'unknown', usage: { prompt_tokens: tokens, total_tokens: tokens } };
}

/** Gemini's `batchEmbedContents` answer: `{embeddings: [{values}]}` in request order, no usage (Gemini reports none). */
export function echoGeminiEmbeddings(request: RecordedRequest, salt = ''): Record<string, unknown> {
  const body = (request.body ?? {}) as { requests?: { content?: { parts?: { text?: string }[] }; outputDimensionality?: number }[] };
  const embeddings = (body.requests ?? []).map((entry) => ({
    values: fakeEmbedding((entry.content?.parts ?? []).map((part) => part.text ?? '').join(''), entry.outputDimensionality, salt),
  }));
  return { embeddings };
}
