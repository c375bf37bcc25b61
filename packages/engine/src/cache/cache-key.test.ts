import { describe, expect, it } from 'vitest';
import { EmbeddingsJobRequestSchema, JobRequestSchema } from '../schemas/job-request.ts';
import { responseCacheKey } from './cache-key.ts';

const keyOf = (body: Record<string, unknown>): string => responseCacheKey(JobRequestSchema.parse(body));

describe('response cache key', () => {
  const base = { model: 'default', messages: [{ role: 'user', content: 'hi' }], temperature: 0, response_format: { type: 'json_schema', json_schema: { name: 'a', strict: true } } };

  it('is a SHA-256 that ignores the key order of objects at any depth', () => {
    expect(keyOf(base)).toMatch(/^[0-9a-f]{64}$/);
    const reordered = { response_format: { json_schema: { strict: true, name: 'a' }, type: 'json_schema' }, temperature: 0, messages: [{ content: 'hi', role: 'user' }], model: 'default' };
    expect(keyOf(reordered)).toBe(keyOf(base));
  });

  it("leaves out Sluice's own fields but fallbacks", () => {
    const own = { priority: 'low', tier: 'economy', deadline_s: 60, metadata: { a: 'b' }, cache: { ttl_s: 5 } };
    expect(keyOf({ ...base, ...own })).toBe(keyOf(base));
    expect(keyOf({ ...base, fallbacks: ['p/m'] })).not.toBe(keyOf(base));
  });

  it('changes with the model, the messages and any provider-bound parameter', () => {
    for (const changed of [{ model: 'p/m' }, { messages: [{ role: 'user', content: 'hi!' }] }, { temperature: 0.1 }, { user: 'u1' }, { seed: 1 }]) {
      expect(keyOf({ ...base, ...changed })).not.toBe(keyOf(base));
    }
  });
});

describe('response cache key of an embeddings request', () => {
  const embedKey = (body: Record<string, unknown>): string => responseCacheKey(EmbeddingsJobRequestSchema.parse(body));
  const base = { model: 'default', input: ['a', 'b'] };

  it('changes with the inputs, their order, dimensions and encoding; a lone string is the one-input array', () => {
    expect(embedKey({ model: 'default', input: 'a' })).toBe(embedKey({ model: 'default', input: ['a'] }));
    expect(embedKey({ ...base, encoding_format: 'float' })).toBe(embedKey(base));
    for (const changed of [{ input: ['b', 'a'] }, { input: ['a'] }, { dimensions: 8 }, { encoding_format: 'base64' }, { user: 'u1' }, { input: [[1, 2]] }]) {
      expect(embedKey({ ...base, ...changed })).not.toBe(embedKey(base));
    }
  });

  it('never equals a chat request\'s key, and a chat request\'s key is as before (naming its endpoint changes nothing)', () => {
    const chat = { model: 'default', messages: [{ role: 'user', content: 'a' }] };
    expect(embedKey({ model: 'default', input: 'a' })).not.toBe(keyOf(chat));
    expect(keyOf({ ...chat, endpoint: '/v1/chat/completions' })).toBe(keyOf(chat));
  });
});
