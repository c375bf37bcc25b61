import { describe, expect, it } from 'vitest';
import { decodeFloat32Base64, embeddingList, EmbeddingListSchema, encodeFloat32Base64, estimateEmbeddingTokens } from './embeddings.ts';

describe('float32 little-endian base64', () => {
  it('encodes [0.1, -0.2] as the bytes the openai SDK decodes', () => {
    expect(encodeFloat32Base64([0.1, -0.2])).toBe('zczMPc3MTL4=');
  });

  it('decodes back to the float32 values, exactly for values float32 holds', () => {
    expect(decodeFloat32Base64('zczMPc3MTL4=')).toEqual([Math.fround(0.1), Math.fround(-0.2)]);
    const exact = [0.5, -0.25, 1, 0, -3.75, 2 ** -10];
    expect(decodeFloat32Base64(encodeFloat32Base64(exact))).toEqual(exact);
    expect(encodeFloat32Base64([])).toBe('');
  });

  it('refuses bytes that are not whole floats', () => {
    expect(() => decodeFloat32Base64(Buffer.from([1, 2, 3]).toString('base64'))).toThrow(/not a whole number of float32/);
  });
});

describe('embeddingList', () => {
  it('answers in input order, as numbers or base64, with usage in the OpenAI shape', () => {
    const vectors = [[0.5, -0.5], [0.25, 1]];
    const usage = { prompt_tokens: 7, total_tokens: 7 };
    const floats = embeddingList(vectors, 'm', usage, 'float');
    expect(EmbeddingListSchema.parse(floats)).toEqual({
      object: 'list', model: 'm', usage,
      data: [{ object: 'embedding', index: 0, embedding: [0.5, -0.5] }, { object: 'embedding', index: 1, embedding: [0.25, 1] }],
    });
    const packed = embeddingList(vectors, 'm', usage, 'base64');
    expect(packed.data.map((entry) => decodeFloat32Base64(entry.embedding as string))).toEqual(vectors);
  });
});

describe('estimateEmbeddingTokens', () => {
  it('counts 4 characters a token for texts (at least one each) and token arrays by length', () => {
    expect(estimateEmbeddingTokens(['abcdefgh', 'a', ''])).toBe(2 + 1 + 1);
    expect(estimateEmbeddingTokens([[1, 2, 3], [4]])).toBe(4);
  });
});
