import { describe, expect, it } from 'vitest';
import { exceedsJsonDepth } from './json-depth.ts';

describe('exceedsJsonDepth', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(exceedsJsonDepth('{"a": [1, {"b": []}]}', 4)).toBe(false);
    expect(exceedsJsonDepth('{"a": [1, {"b": []}]}', 3)).toBe(true);
    expect(exceedsJsonDepth('{"a": "[[[[[[[[[[[[", "b": "\\"[[[["}', 1)).toBe(false);
    expect(exceedsJsonDepth(Buffer.from('[[[[]]]]'), 4)).toBe(false);
    expect(exceedsJsonDepth(Buffer.from('[[[[[]]]]]'), 4)).toBe(true);
  });

  it('stops early on a document nested 400,000 deep', () => {
    const deep = `${'['.repeat(400_000)}${']'.repeat(400_000)}`;
    const started = performance.now();
    expect(exceedsJsonDepth(deep, 64)).toBe(true);
    // Microseconds; the bound leaves room for a loaded machine and still catches a quadratic scan.
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});
