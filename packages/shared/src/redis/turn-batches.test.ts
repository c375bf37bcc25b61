import { describe, expect, it } from 'vitest';
import { TurnBatches } from './turn-batches.ts';

describe('TurnBatches', () => {
  it('hands one turn’s items to one run per key, and each caller its own result', async () => {
    const runs: [string, number[]][] = [];
    const batches = new TurnBatches<string, number, number>(async (key, items) => {
      runs.push([key, items]);
      return items.map((item) => item * 10);
    });
    const results = await Promise.all([batches.add('a', 1), batches.add('b', 2), batches.add('a', 3)]);
    expect(results).toEqual([10, 20, 30]);
    expect(runs).toEqual([['a', [1, 3]], ['b', [2]]]);
    // The next turn is a new batch.
    expect(await batches.add('a', 4)).toBe(40);
    expect(runs).toHaveLength(3);
  });

  it('a failed run fails every caller of its batch, and only them', async () => {
    const batches = new TurnBatches<string, number, number>(async (key, items) => {
      if (key === 'bad') throw new Error('no');
      return items;
    });
    const settled = await Promise.allSettled([batches.add('bad', 1), batches.add('bad', 2), batches.add('good', 3)]);
    expect(settled.map((result) => result.status)).toEqual(['rejected', 'rejected', 'fulfilled']);
  });
});
