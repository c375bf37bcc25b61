import { randomBytes } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { fairShareKey } from '../keys.ts';
import type { Priority, Tier } from '../schemas/job-request.ts';
import { CLASS_SPAN, EntryWriter, type EntrySpec, type EntryWriterOptions } from './entries.ts';
import { bullQueueName, openProviderQueue, providerQueueName } from './queues.ts';

/**
 * The fair-share placement against a real Redis and a real BullMQ queue, served by a BullMQ worker
 * taking entries one at a time (manual fetching), so the order is the one BullMQ serves.
 */
describe('entry writer: fair share between tenants', () => {
  let redis: Redis;
  const prefix = `t${randomBytes(4).toString('hex')}fair`;
  const open: { close(): Promise<unknown> }[] = [];
  let sequence = 0;

  beforeAll(() => {
    redis = new Redis(inject('redisUrl'), { maxRetriesPerRequest: null });
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((thing) => thing.close()));
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  function setUp(weights: Record<string, number> = {}, options: EntryWriterOptions = {}) {
    const provider = `p${(sequence += 1)}`;
    const queue = openProviderQueue(redis, prefix, provider);
    const worker = new Worker(bullQueueName(providerQueueName(provider)), null, { connection: redis.duplicate(), prefix, autorun: false });
    open.push(worker, queue);
    const writer = new EntryWriter(redis, prefix, new Map([[provider, queue]]), (tenant) => weights[tenant] ?? 1, options);
    const add = (tenant: string, count: number, priority: Priority = 'normal', tier: Tier = 'standard'): Promise<void> => {
      const specs: EntrySpec[] = Array.from({ length: count }, () => {
        sequence += 1;
        return { jobId: `${tenant}-${priority}-${tier}-${sequence}`, entryId: `${tenant}-${sequence}.0`, tenant, priority, tier };
      });
      return writer.add(provider, specs);
    };
    /** Takes `count` entries as a worker would, completing each; returns their job ids in order. */
    const serve = async (count: number): Promise<string[]> => {
      const served: string[] = [];
      for (let i = 0; i < count; i++) {
        const job = await worker.getNextJob('token', { block: false });
        if (job === undefined) break;
        served.push(String(job.data.id));
        await job.moveToCompleted('ok', 'token', false);
      }
      return served;
    };
    return { provider, queue, writer, add, serve };
  }

  const tenantOf = (id: string): string => id.split('-')[0] ?? '';
  const count = (ids: readonly string[], tenant: string): number => ids.filter((id) => tenantOf(id) === tenant).length;

  it("a new tenant's jobs wait behind one job of a tenant with a deep backlog, not behind the backlog", async () => {
    const { add, serve } = setUp();
    await add('acme', 300);
    await add('globex', 20);
    const served = await serve(320);
    const lastGlobex = served.map(tenantOf).lastIndexOf('globex');
    // Alternating from the head: globex's 20th job goes no later than about 40th.
    expect(lastGlobex).toBeLessThan(41);
    expect(count(served.slice(0, 40), 'globex')).toBe(20);
    // Within each tenant, arrival order holds.
    const acme = served.filter((id) => tenantOf(id) === 'acme');
    expect(acme).toEqual([...acme].sort((a, b) => Number(a.split('-').at(-1)) - Number(b.split('-').at(-1))));
  });

  it('serves two saturating tenants in proportion to their weights', async () => {
    const { add, serve } = setUp({ acme: 3, globex: 1 });
    await add('acme', 400);
    await add('globex', 400);
    const served = await serve(400);
    expect(count(served, 'acme')).toBeGreaterThanOrEqual(270);
    expect(count(served, 'acme')).toBeLessThanOrEqual(330);
  });

  it('keeps priority classes first, and tier before arrival within one tenant', async () => {
    const { add, serve } = setUp();
    await add('acme', 50, 'low');
    await add('acme', 1, 'normal', 'economy');
    await add('acme', 1, 'normal', 'standard');
    await add('acme', 1, 'normal', 'premium');
    await add('globex', 1, 'high');
    const served = await serve(4);
    expect(served[0]).toMatch(/^globex-high-/);
    expect(served.slice(1).map((id) => id.split('-')[2])).toEqual(['premium', 'standard', 'economy']);
  });

  it("a tenant's premium work is not queued behind its own economy backlog, and its tiers share its weight", async () => {
    const { add, serve, provider } = setUp();
    await add('acme', 100, 'normal', 'economy');
    await add('acme', 10, 'normal', 'premium');
    await add('globex', 300, 'normal', 'standard');
    const served = await serve(60);
    const acme = served.filter((id) => tenantOf(id) === 'acme');
    // acme's 10 premium jobs take turns with its economy ones from the head (tags 0, 2, … 18): all
    // among its first 30, not after its 100 economy ones.
    expect(acme.slice(0, 30).filter((id) => id.includes('-premium-'))).toHaveLength(10);
    // Each premium slot is paid: acme's economy tag moves on by one per premium job (100 → 110), and
    // premium, sharing the weight with economy, moves two per job.
    const state = await redis.hgetall(fairShareKey(prefix, bullQueueName(providerQueueName(provider))));
    expect(Number(state['f:1:2:acme'])).toBe(110);
    expect(Number(state['f:1:0:acme'])).toBe(20);
  });

  it('a tenant feeding all three tiers gets its weight over the run, not three times it', async () => {
    const { add, serve } = setUp();
    const served: string[] = [];
    for (let round = 0; round < 80; round++) {
      await add('acme', 3, 'normal', 'economy');
      await add('acme', 3, 'normal', 'standard');
      await add('acme', 3, 'normal', 'premium');
      await add('globex', 9, 'normal', 'standard');
      served.push(...(await serve(12)));
    }
    // Both kept a backlog all along (18 added, 12 served a round): they split about evenly.
    expect(count(served, 'acme') / served.length).toBeLessThan(0.56);
    expect(count(served, 'acme') / served.length).toBeGreaterThan(0.44);
  });

  it('a tenant returning after the others were served starts with them, not behind its old tags', async () => {
    const { add, serve } = setUp();
    await add('acme', 50);
    expect(await serve(50)).toHaveLength(50);
    // Past the 50 ms in which a placement's entries may still be on their way to the queue.
    await new Promise((resolve) => setTimeout(resolve, 60));
    await add('globex', 50);
    await add('acme', 5);
    const served = await serve(55);
    expect(served.findIndex((id) => tenantOf(id) === 'acme')).toBeLessThan(3);
  });

  it('keeps its order over many shifts of a small priority range', async () => {
    // 150 numbers (50 tags) per class shift every ~25 tags; a long run crosses that often, with a
    // shift in progress (3 entries moved per call) while new entries are placed.
    const { add, serve, provider, queue } = setUp({}, { classSpan: 150, rebaseChunk: 3 });
    const key = fairShareKey(prefix, bullQueueName(providerQueueName(provider)));
    const served: string[] = [];
    const shifts = new Set<string>();
    for (let round = 0; round < 60; round++) {
      await add('acme', 5);
      await add('globex', 3);
      if (round % 4 === 0) await add('initech', 4);
      served.push(...(await serve(9)));
      const [offset, shift] = await redis.hmget(key, 'off:1', 'd:1');
      shifts.add(`${offset}/${shift}`);
    }
    served.push(...(await serve(1000)));
    expect(served).toHaveLength(60 * 8 + 15 * 4);
    for (const tenant of ['acme', 'globex', 'initech']) {
      const own = served.filter((id) => tenantOf(id) === tenant).map((id) => Number(id.split('-').at(-1)));
      expect(own).toEqual([...own].sort((a, b) => a - b));
    }
    // The range was shifted several times, and some of them were seen half done.
    expect(new Set([...shifts].map((seen) => seen.split('/')[0])).size).toBeGreaterThan(4);
    expect([...shifts].some((seen) => !['0', 'null'].includes(seen.split('/')[1] ?? 'null'))).toBe(true);
    expect(await queue.count()).toBe(0);
    // While acme and globex both wait, they alternate.
    const window = served.slice(100, 200);
    expect(Math.abs(count(window, 'acme') - count(window, 'globex'))).toBeLessThan(25);
  });

  it('places new entries on the right side of a shift in progress', async () => {
    // 150 numbers = 50 tags per class; the shift starts once the head is past tag 25, 2 entries per call.
    const { add, serve, provider } = setUp({}, { classSpan: 150, rebaseChunk: 2 });
    const key = fairShareKey(prefix, bullQueueName(providerQueueName(provider)));
    await add('acme', 45);
    await serve(30); // acme's tags 30..44 wait
    for (const tenant of ['b1', 'b2', 'b3', 'b4']) await add(tenant, 1); // each at tag 30; the calls start and move the shift
    expect(Number(await redis.hget(key, 'd:1'))).toBe(90);
    await add('late', 1); // tag 30: below the cursor, so in the shifted numbers
    const first = await serve(6);
    expect(new Set(first.map(tenantOf))).toEqual(new Set(['acme', 'b1', 'b2', 'b3', 'b4', 'late']));
    await serve(3); // the head moves on, inside the shifted part: acme's tags 31..33
    await add('later', 1); // the virtual time is read from the shifted head: tag 34, not behind it
    const next = await serve(3);
    expect(next.map(tenantOf)).toEqual(['acme', 'later', 'acme']);
  });

  it("a backlog past the range's end never holds up another tenant's new jobs", async () => {
    // 50 tags per class: acme's 80 jobs run past the end; the ones past it share the overflow number.
    const { add, serve } = setUp({}, { classSpan: 150, rebaseChunk: 4 });
    await add('acme', 80);
    await serve(20);
    await add('bee', 3);
    const next = await serve(6);
    expect(count(next, 'bee')).toBe(3);
    // The overflow comes last, in arrival order, after the range has been shifted down for it.
    const rest = await serve(100);
    const acme = rest.map((id) => Number(id.split('-').at(-1)));
    expect(rest).toHaveLength(80 - 20 - 3);
    expect(acme).toEqual([...acme].sort((a, b) => a - b));
  });

  it('places a delayed retry like a new job of its tenant, not ahead of the class', async () => {
    const { writer, queue, add } = setUp();
    await add('acme', 5);
    const [retry] = await writer.priorities(queue, [{ jobId: 'a', entryId: 'a.1', tenant: 'acme', priority: 'normal', tier: 'standard', delayMs: 500 }]);
    const [fresh] = await writer.priorities(queue, [{ jobId: 'b', entryId: 'b.1', tenant: 'globex', priority: 'normal', tier: 'standard' }]);
    // acme's sixth entry is tagged 5; globex, with nothing waiting, starts at the head (tag 0).
    expect(retry).toBe(1 + CLASS_SPAN + 5 * 3 + 1);
    expect(fresh).toBe(1 + CLASS_SPAN + 1);
  });
});
