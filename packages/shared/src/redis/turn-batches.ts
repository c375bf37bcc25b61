/**
 * Gathers what callers ask for in one event-loop turn, grouped by key, and hands each group to `run`
 * once the turn is over: one Redis call for all of them instead of one each. Every caller gets the
 * result at its item's place (or the call's error).
 */
export class TurnBatches<Key, Item, Result> {
  private readonly waiting = new Map<Key, { item: Item; resolve(result: Result): void; reject(error: unknown): void }[]>();

  constructor(private readonly run: (key: Key, items: Item[]) => Promise<Result[]>) {}

  add(key: Key, item: Item): Promise<Result> {
    return new Promise((resolve, reject) => {
      let batch = this.waiting.get(key);
      if (batch === undefined) {
        batch = [];
        this.waiting.set(key, batch);
        setImmediate(() => void this.flush(key));
      }
      batch.push({ item, resolve, reject });
    });
  }

  private async flush(key: Key): Promise<void> {
    const batch = this.waiting.get(key) ?? [];
    this.waiting.delete(key);
    try {
      const results = await this.run(key, batch.map(({ item }) => item));
      batch.forEach(({ resolve }, index) => resolve(results[index] as Result));
    } catch (error) {
      for (const { reject } of batch) reject(error);
    }
  }
}
