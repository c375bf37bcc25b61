import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { webhookSlotKeys } from '../keys.ts';
import { createDeliverySlots, type DeliverySlot, type SlotAnswer } from './delivery-slots.ts';

const slotOf = (answer: SlotAnswer): DeliverySlot => {
  if (!answer.granted) throw new Error(`refused, wait ${answer.waitMs} ms`);
  return answer.slot;
};
const waitOf = (answer: SlotAnswer): number => {
  if (answer.granted) throw new Error('granted');
  return answer.waitMs;
};

/** Well past twice the 1 s assumed before any hold is measured, so a wait from that assumption is out of range. */
const HELD_MS = 2_500;

describe('webhook delivery slots', () => {
  // Two connections stand for two worker processes: the count is in Redis, not in either.
  let first: Redis;
  let second: Redis;
  const prefix = `t${Date.now().toString(36)}slots`;
  beforeAll(() => {
    first = new Redis(inject('redisUrl'));
    second = new Redis(inject('redisUrl'));
  });
  afterAll(async () => {
    const keys = await first.keys(`${prefix}:*`);
    if (keys.length > 0) await first.del(...keys);
    first.disconnect();
    second.disconnect();
  });

  it('grants a tenant at most its limit across processes, each tenant its own, and a released slot is taken again', async () => {
    const options = { prefix, limit: 3, leaseMs: 10_000 };
    const processes = [createDeliverySlots(first, options), createDeliverySlots(second, options)];
    const answers = await Promise.all(Array.from({ length: 20 }, (_, index) => processes[index % 2]!.acquire('a', `msg_a${index}`)));
    const granted = answers.filter((answer) => answer.granted);
    expect(granted).toHaveLength(3);
    expect(await first.zcard(webhookSlotKeys(prefix, 'a').held)).toBe(3);
    // Another tenant is not held back by the first one's slots.
    expect((await processes[1]!.acquire('b', 'msg_b0')).granted).toBe(true);
    expect((await processes[0]!.acquire('a', 'msg_a-late')).granted).toBe(false);
    await slotOf(granted[0]!).release();
    expect(await second.zcard(webhookSlotKeys(prefix, 'a').held)).toBe(2);
    expect((await processes[1]!.acquire('a', 'msg_a-late')).granted).toBe(true);
    expect((await processes[0]!.acquire('a', 'msg_a-later')).granted).toBe(false);
  });

  it('a slot never given back (its worker died) lapses with its lease', async () => {
    const slots = createDeliverySlots(first, { prefix, limit: 1, leaseMs: 1_000 });
    slotOf(await slots.acquire('crashed', 'msg_c0'));
    expect((await slots.acquire('crashed', 'msg_c1')).granted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 1_050));
    expect((await slots.acquire('crashed', 'msg_c1')).granted).toBe(true);
  });

  it('a refused delivery waits about one slot turn per delivery ahead of it, and one refused again keeps its place', async () => {
    const slots = createDeliverySlots(first, { prefix, limit: 1, leaseMs: 10_000 });
    const held = slotOf(await slots.acquire('line', 'msg_l0'));
    const firstWait = waitOf(await slots.acquire('line', 'msg_l1'));
    // No hold measured yet: a turn is taken as 1 s, spread over half to all of it.
    expect(firstWait).toBeGreaterThanOrEqual(500);
    expect(firstWait).toBeLessThanOrEqual(1000);
    for (let index = 2; index < 10; index += 1) waitOf(await slots.acquire('line', `msg_l${index}`));
    // Nine ahead of it (msg_l1 to msg_l9): at least half of ten turns.
    expect(waitOf(await slots.acquire('line', 'msg_l10'))).toBeGreaterThanOrEqual(5_000);
    // msg_l1, back before its turn came, is still first: one turn at most, not the back of the line.
    expect(waitOf(await slots.acquire('line', 'msg_l1'))).toBeLessThanOrEqual(1000);
    // The one whose turn it is takes the slot and leaves the line.
    await held.release();
    slotOf(await slots.acquire('line', 'msg_l1'));
    expect(await first.zscore(webhookSlotKeys(prefix, 'line').waiting, 'msg_l1')).toBeNull();
    expect(await first.zcard(webhookSlotKeys(prefix, 'line').waiting)).toBe(9);
  });

  it('the turn is the tenant\'s measured hold: a slot held 2.5 s makes a first wait of half to all of it, not of the 1 s assumed before', async () => {
    const slots = createDeliverySlots(first, { prefix, limit: 1, leaseMs: 10_000 });
    const before = Date.now();
    const held = slotOf(await slots.acquire('measured', 'msg_m0'));
    await new Promise((resolve) => setTimeout(resolve, HELD_MS));
    await held.release();
    // The hold the slots measured lies between HELD_MS and this (a loaded machine only lengthens it).
    const heldAtMost = Date.now() - before;
    slotOf(await slots.acquire('measured', 'msg_m1'));
    const wait = waitOf(await slots.acquire('measured', 'msg_m2'));
    expect(wait).toBeGreaterThanOrEqual(HELD_MS / 2);
    expect(wait).toBeLessThanOrEqual(heldAtMost);
  });

  it('every key it writes expires', async () => {
    const slots = createDeliverySlots(first, { prefix, limit: 1, leaseMs: 2_000 });
    const held = slotOf(await slots.acquire('ttl', 'msg_t0'));
    waitOf(await slots.acquire('ttl', 'msg_t1'));
    const keys = webhookSlotKeys(prefix, 'ttl');
    expect(await first.pttl(keys.held)).toBeGreaterThan(0);
    expect(await first.pttl(keys.held)).toBeLessThanOrEqual(2_000);
    expect(await first.pttl(keys.waiting)).toBeGreaterThan(0);
    await held.release();
    expect(await first.pttl(keys.hold)).toBeGreaterThan(0);
    expect(await first.pttl(keys.hold)).toBeLessThanOrEqual(3_600_000);
  });
});
