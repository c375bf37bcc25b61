import { describe, expect, it } from 'vitest';
import { JobRequestSchema } from '../schemas/job-request.ts';
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
