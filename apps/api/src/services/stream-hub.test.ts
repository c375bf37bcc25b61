import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it, vi, type MockInstance } from 'vitest';
import { createLogger, createRedis, waitUntilReady, type ChatCompletionChunk, type Logger, type Redis } from '@sluice/shared';
import { deltaFields, jobStreamKey, type JobStreamEntry } from '@sluice/engine';
import { redisServerOnPath } from '../../../../scripts/embedded-redis.ts';
import { startRedisCluster, type TestCluster } from '../../../../test/harness/redis-cluster.ts';
import { createStreamHub, type StreamFollower, type StreamHub } from './stream-hub.ts';
import { compareStreamIds, streamId } from './stream-read-loop.ts';

const chunk = (index: number): ChatCompletionChunk => ({
  id: 'chatcmpl-1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content: `c${index}` }, finish_reason: null }],
});

/** A follower that records what it is given; `holdFrom`: once it has `count` entries, taking each batch waits for `until`. */
function recorder(options: { holdFrom?: { count: number; until: Promise<void> } } = {}) {
  const entries: JobStreamEntry[] = [];
  const errors: Error[] = [];
  let calls = 0;
  const waiting: { count: number; resolve: () => void }[] = [];
  const follower: StreamFollower = {
    onEntries(batch) {
      calls += 1;
      entries.push(...batch);
      for (const waiter of waiting.filter((w) => entries.length >= w.count)) waiter.resolve();
      return options.holdFrom !== undefined && entries.length >= options.holdFrom.count ? options.holdFrom.until : undefined;
    },
    onError(error) {
      errors.push(error);
    },
  };
  /** Resolves once `count` entries have arrived. */
  const until = (count: number): Promise<void> =>
    entries.length >= count ? Promise.resolve() : new Promise((resolve) => waiting.push({ count, resolve }));
  return { follower, entries, errors, until, calls: () => calls };
}

const ids = (entries: readonly JobStreamEntry[]): string[] => entries.map((entry) => entry.id);

describe('stream entry ids', () => {
  it('compare as numbers, part by part', () => {
    const sorted = ['0-0', '0-1', '0-10', '9-99', '10-0', '1700000000000-0', '1700000000000-2', '1700000000001-0'];
    expect([...sorted].reverse().sort(compareStreamIds)).toEqual(sorted);
    expect(compareStreamIds('5-5', '5-5')).toBe(0);
  });

  it('are taken only whole, in the form Redis writes them', () => {
    expect(streamId('007-01')).toBe('7-1');
    for (const bad of ['', '$', '5', '5-', '-5', '1-2-3', '18446744073709551616-0']) expect(() => streamId(bad)).toThrow(RangeError);
  });
});

describe('stream hub', () => {
  const prefix = `t${Date.now().toString(36)}hub`;
  const name = `stream-hub-test-${randomUUID()}`;
  const keys = new Set<string>();
  const lines: Record<string, unknown>[] = [];
  let redis: Redis;
  let logger: Logger;
  let hub: StreamHub;
  let counter = 0;

  const key = (): string => {
    const made = jobStreamKey(prefix, `job${(counter += 1)}`);
    keys.add(made);
    return made;
  };
  /** Appends `count` delta entries (chunks `first`…) and returns their ids. */
  const append = async (streamKey: string, count: number, first = 0): Promise<string[]> => {
    const pipeline = redis.pipeline();
    for (let index = first; index < first + count; index += 1) pipeline.xadd(streamKey, '*', ...deltaFields(index, [chunk(index)]));
    return ((await pipeline.exec()) ?? []).map(([error, id]) => {
      if (error !== null) throw error;
      return id as string;
    });
  };
  /** Resolves once the hub's connection sits in a blocking XREAD. */
  const blockedOnRead = async (): Promise<void> => {
    for (;;) {
      const clients = (await redis.call('CLIENT', 'LIST')) as string;
      if (clients.split('\n').some((line) => line.includes(`name=${name} `) && line.includes('cmd=xread'))) return;
      await sleep(5);
    }
  };
  let sent: MockInstance;
  /** CLIENT UNBLOCKs this test's hubs sent (the server's own count includes other files' hubs on the same Redis). */
  const unblocks = async (): Promise<number> =>
    sent.mock.calls.filter(([command, sub]) => String(command).toUpperCase() === 'CLIENT' && String(sub).toUpperCase() === 'UNBLOCK').length;

  beforeAll(async () => {
    redis = createRedis(inject('redisUrl'), { role: 'command', connectionName: name });
    await waitUntilReady(redis);
    // The hubs unblock their reads through this connection: a spy counts the calls, which still run.
    sent = vi.spyOn(redis, 'call');
    logger = createLogger({ level: 'warn', destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) } });
  });
  afterEach(async () => {
    await hub?.close();
  });
  afterAll(async () => {
    if (keys.size > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('delivers entries appended after the follow, in order, decoded', async () => {
    hub = createStreamHub(redis, logger);
    const streamKey = key();
    const reader = recorder();
    hub.follow(streamKey, '0-0', reader.follower);
    await blockedOnRead();
    const written = [await redis.xadd(streamKey, '*', 'k', 'status', 's', 'running', 'p', 'x'), ...(await append(streamKey, 20))];
    await reader.until(21);
    expect(ids(reader.entries)).toEqual(written);
    expect(reader.entries[0]).toEqual({ id: written[0], kind: 'status', status: 'running', provider: 'x' });
    expect(reader.entries[1]).toEqual({ id: written[1], kind: 'delta', first: 0, chunks: [JSON.stringify(chunk(0))], usage: null });
  });

  it("from '0-0' gives the existing entries first; from a middle id exactly the rest; skips entries it cannot decode", async () => {
    hub = createStreamHub(redis, logger);
    const streamKey = key();
    const before = await append(streamKey, 5);
    await redis.xadd(streamKey, '*', 'k', 'unknown');
    const [fromStart, fromMiddle] = [recorder(), recorder()];
    hub.follow(streamKey, '0-0', fromStart.follower);
    hub.follow(streamKey, before[2] as string, fromMiddle.follower);
    await fromStart.until(5);
    const after = await append(streamKey, 5, 5);
    await Promise.all([fromStart.until(10), fromMiddle.until(7)]);
    expect(ids(fromStart.entries)).toEqual([...before, ...after]);
    expect(ids(fromMiddle.entries)).toEqual([...before.slice(3), ...after]);
    expect(fromStart.errors).toEqual([]);
  });

  it('serves two followers of one key from their own positions, each once and in order', async () => {
    hub = createStreamHub(redis, logger, { count: 3 });
    const streamKey = key();
    const existing = await append(streamKey, 10);
    const ahead = recorder();
    hub.follow(streamKey, existing[7] as string, ahead.follower);
    await blockedOnRead();
    const behind = recorder();
    hub.follow(streamKey, existing[1] as string, behind.follower);
    await behind.until(8);
    const more = await append(streamKey, 4, 10);
    await Promise.all([ahead.until(6), behind.until(12)]);
    expect(ids(ahead.entries)).toEqual([...existing.slice(8), ...more]);
    expect(ids(behind.entries)).toEqual([...existing.slice(2), ...more]);
  });

  it("holds back a slow follower only: another key's follower is served meanwhile, the slow one later gets everything in order", async () => {
    hub = createStreamHub(redis, logger);
    const [slowKey, fastKey] = [key(), key()];
    // The slow follower takes nothing more after its first entry until released: were it to hold
    // the loop, the fast key's entries would never come and the test would time out.
    let release: () => void = () => undefined;
    const slow = recorder({ holdFrom: { count: 1, until: new Promise<void>((resolve) => (release = resolve)) } });
    const fast = recorder();
    hub.follow(slowKey, '0-0', slow.follower);
    hub.follow(fastKey, '0-0', fast.follower);
    const slowIds = await append(slowKey, 1);
    await slow.until(1);
    // The slow follower is busy with its first entry: its key is out of the reads meanwhile.
    slowIds.push(...(await append(slowKey, 30, 1)));
    const fastIds = await append(fastKey, 10);
    await fast.until(10);
    expect(slow.entries).toHaveLength(1);
    release();
    await slow.until(31);
    expect(ids(slow.entries)).toEqual(slowIds);
    expect(ids(fast.entries)).toEqual(fastIds);
    // Everything written while it was busy came in one batch, not one entry per read.
    expect(slow.calls()).toBe(2);
  });

  it('serves a follow started while the loop blocks on other keys at once (CLIENT UNBLOCK), with one unblock for a tick of follows', async () => {
    hub = createStreamHub(redis, logger, { blockMs: 5_000 });
    hub.follow(key(), '0-0', recorder().follower);
    const late = Array.from({ length: 20 }, () => ({ streamKey: key(), reader: recorder() }));
    const written = await Promise.all(late.map(({ streamKey }) => append(streamKey, 3)));
    await blockedOnRead();
    const unblocksBefore = await unblocks();
    const started = Date.now();
    for (const { streamKey, reader } of late) hub.follow(streamKey, '0-0', reader.follower);
    await Promise.all(late.map(({ reader }) => reader.until(3)));
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(late.map(({ reader }) => ids(reader.entries))).toEqual(written);
    expect((await unblocks()) - unblocksBefore).toBe(1);
  });

  it('stops delivering to a follower once stopped (stop is idempotent); the key leaves the reads with its last follower', async () => {
    hub = createStreamHub(redis, logger);
    const streamKey = key();
    const [stopped, staying] = [recorder(), recorder()];
    const stop = hub.follow(streamKey, '0-0', stopped.follower);
    hub.follow(streamKey, '0-0', staying.follower);
    await append(streamKey, 2);
    await Promise.all([stopped.until(2), staying.until(2)]);
    stop();
    stop();
    await append(streamKey, 3, 2);
    await staying.until(5);
    expect(stopped.entries).toHaveLength(2);
    const other = key();
    const alone = recorder();
    const stopAlone = hub.follow(other, '0-0', alone.follower);
    await append(other, 1);
    await alone.until(1);
    stopAlone();
    await append(other, 1, 1);
    // A later follow of the same key sees the entry the stopped one did not get.
    const next = recorder();
    hub.follow(other, '0-0', next.follower);
    await next.until(2);
    expect(alone.entries).toHaveLength(1);
  });

  it('delivers 200 keys × 50 entries each exactly once and in order', async () => {
    hub = createStreamHub(redis, logger);
    const followed = Array.from({ length: 200 }, () => ({ streamKey: key(), reader: recorder() }));
    for (const { streamKey, reader } of followed) hub.follow(streamKey, '0-0', reader.follower);
    const written: string[][] = followed.map(() => []);
    for (let batch = 0; batch < 5; batch += 1) {
      const ids = await Promise.all(followed.map(({ streamKey }) => append(streamKey, 10, batch * 10)));
      ids.forEach((added, index) => written[index]?.push(...added));
    }
    await Promise.all(followed.map(({ reader }) => reader.until(50)));
    expect(followed.map(({ reader }) => ids(reader.entries))).toEqual(written);
  });

  it('reads on after its connection is killed, neither skipping nor repeating an entry, and says so once', async () => {
    hub = createStreamHub(redis, logger);
    const streamKey = key();
    const reader = recorder();
    hub.follow(streamKey, '0-0', reader.follower);
    const first = await append(streamKey, 3);
    await reader.until(3);
    await blockedOnRead();
    lines.length = 0;
    const clients = ((await redis.call('CLIENT', 'LIST')) as string).split('\n').filter((line) => line.includes(`name=${name} `) && line.includes('cmd=xread'));
    for (const line of clients) await redis.call('CLIENT', 'KILL', 'ID', /id=(\d+)/.exec(line)?.[1] ?? '');
    const second = await append(streamKey, 3, 3);
    await reader.until(6);
    await blockedOnRead();
    const third = await append(streamKey, 3, 6);
    await reader.until(9);
    expect(ids(reader.entries)).toEqual([...first, ...second, ...third]);
    expect(lines.filter((line) => line.msg === 'stream hub could not read job streams; retrying')).toHaveLength(1);
  });

  it('drops the followers of a key that holds no stream, and keeps serving the other keys', async () => {
    hub = createStreamHub(redis, logger);
    const [bad, good] = [key(), key()];
    await redis.set(bad, 'not a stream');
    const [badReader, goodReader] = [recorder(), recorder()];
    hub.follow(bad, '0-0', badReader.follower);
    hub.follow(good, '0-0', goodReader.follower);
    const written = await append(good, 2);
    await goodReader.until(2);
    expect(ids(goodReader.entries)).toEqual(written);
    expect(badReader.errors.map((error) => error.message)).toEqual([expect.stringContaining('WRONGTYPE')]);
  });

  it('closes with followers active: each told once, nothing delivered after', async () => {
    hub = createStreamHub(redis, logger);
    const readers = [recorder(), recorder()];
    const streamKey = key();
    for (const reader of readers) hub.follow(streamKey, '0-0', reader.follower);
    await blockedOnRead();
    await hub.close();
    await append(streamKey, 2);
    expect(readers.map((reader) => reader.errors.map((error) => error.message))).toEqual([['stream hub closed'], ['stream hub closed']]);
    expect(readers.map((reader) => reader.entries)).toEqual([[], []]);
    expect(() => hub.follow(streamKey, 'nonsense', recorder().follower)).toThrow(RangeError);
  });
});

describe.skipIf(!redisServerOnPath())('stream hub on a Redis Cluster (a loop per key)', () => {
  let cluster: TestCluster;
  let redis: Redis;
  let hub: StreamHub;
  const logger = createLogger({ level: 'silent' });
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    redis = createRedis({ url: cluster.nodes[0] as string, cluster_nodes: cluster.nodes }, { role: 'command' });
    await waitUntilReady(redis, 10_000);
  }, 60_000);
  afterAll(async () => {
    await hub?.close();
    redis?.disconnect();
    await cluster?.stop();
  });

  it('serves keys in different slots, a slow follower holding back only itself, and stops a key with its last follower', async () => {
    hub = createStreamHub(redis, logger);
    const keys = Array.from({ length: 6 }, (_, index) => jobStreamKey('c', `job${index}`));
    const append = (streamKey: string, first: number, count: number): Promise<string[]> =>
      Promise.all(Array.from({ length: count }, (_, index) => redis.xadd(streamKey, '*', ...deltaFields(first + index, [chunk(first + index)])) as Promise<string>));
    const early = await Promise.all(keys.map((streamKey) => append(streamKey, 0, 2)));
    // The first follower stops taking entries once it has the early ones, until released below.
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const readers = keys.map((_, index) => recorder(index === 0 ? { holdFrom: { count: 2, until: held } } : {}));
    const stops = keys.map((streamKey, index) => hub.follow(streamKey, '0-0', (readers[index] as ReturnType<typeof recorder>).follower));
    await Promise.all(readers.map((reader) => reader.until(2)));
    const late = await Promise.all(keys.map((streamKey) => append(streamKey, 2, 3)));
    await Promise.all(readers.slice(1).map((reader) => reader.until(5)));
    expect((readers[0] as ReturnType<typeof recorder>).entries).toHaveLength(2);
    release();
    await Promise.all(readers.map((reader) => reader.until(5)));
    expect(readers.map((reader) => ids(reader.entries))).toEqual(keys.map((_, index) => [...(early[index] ?? []), ...(late[index] ?? [])]));
    for (const stop of stops) stop();
    // Each key's loop closed its connection with its last follower: no node has a blocked reader left.
    const nodes = cluster.nodes.map((url) => createRedis(url, { role: 'worker' }));
    try {
      for (;;) {
        const lists = await Promise.all(nodes.map((node) => node.call('CLIENT', 'LIST') as Promise<string>));
        if (!lists.some((list) => list.includes('cmd=xread'))) break;
        await sleep(10);
      }
    } finally {
      for (const node of nodes) node.disconnect();
    }
    await Promise.all(keys.map((streamKey) => redis.del(streamKey)));
  });
});
