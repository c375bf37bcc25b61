import { describe, expect, it } from 'vitest';
import { embeddingRefusal, embedsWith } from './embedding-support.ts';
import { PROVIDER_TYPES } from './registry.ts';

const text = { tokenInput: false };

describe('which targets can embed, as each provider folder knows', () => {
  it('types without an embeddings call cannot; every type that declares embeddings has one', () => {
    expect(embeddingRefusal('anthropic', 'claude-3-5-haiku-latest', text)).toBe('embeddings_unsupported');
    expect(embeddingRefusal('no-such-type', 'x', text)).toBe('embeddings_unsupported');
    for (const [type, definition] of Object.entries(PROVIDER_TYPES)) {
      const adapter = definition.createAdapter('p', definition.configSchema.parse({ type, base_url: 'http://127.0.0.1:9/v1', api_key: 'k' }));
      expect(adapter.embed !== undefined, type).toBe(definition.embeddings !== null);
    }
  });

  it('openai: its embedding models, not its chat models; unknown models are tried', () => {
    expect(embeddingRefusal('openai', 'text-embedding-3-small', text)).toBeNull();
    expect(embeddingRefusal('openai', 'gpt-4o-mini', text)).toBe('not_an_embedding_model');
    expect(embeddingRefusal('openai', 'o3-mini', text)).toBe('not_an_embedding_model');
    expect(embeddingRefusal('openai', 'text-embedding-4-preview', text)).toBeNull();
    expect(embedsWith('openai', 'gpt-5')).toBe(false);
  });

  it('dimensions: up to each model\'s length, none for ada-002, anything for models not known', () => {
    expect(embeddingRefusal('openai', 'text-embedding-3-small', { tokenInput: false, dimensions: 1536 })).toBeNull();
    expect(embeddingRefusal('openai', 'text-embedding-3-small', { tokenInput: false, dimensions: 3072 })).toBe('dimensions_unsupported');
    expect(embeddingRefusal('openai', 'text-embedding-3-large', { tokenInput: false, dimensions: 3072 })).toBeNull();
    expect(embeddingRefusal('openai', 'text-embedding-ada-002', { tokenInput: false, dimensions: 512 })).toBe('dimensions_unsupported');
    expect(embeddingRefusal('openai-compatible', 'bge-m3', { tokenInput: true, dimensions: 4096 })).toBeNull();
  });

  it('gemini: its embedding family (longer than its chat prefix), text only', () => {
    expect(embeddingRefusal('gemini', 'gemini-embedding-001', { tokenInput: false, dimensions: 768 })).toBeNull();
    expect(embeddingRefusal('gemini', 'gemini-embedding-001', { tokenInput: false, dimensions: 4096 })).toBe('dimensions_unsupported');
    expect(embeddingRefusal('gemini', 'gemini-2.0-flash', text)).toBe('not_an_embedding_model');
    expect(embeddingRefusal('gemini', 'gemini-embedding-001', { tokenInput: true })).toBe('token_input_unsupported');
    expect(embeddingRefusal('mock', 'echo', { tokenInput: true, dimensions: 3 })).toBeNull();
  });
});
