import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { webhookSlotKeys } from '../keys.ts';
import { defineScripts } from '../scripts.ts';

/** A slot held for one delivery. */
export interface DeliverySlot {
  /** Gives the slot back (a slot never given back lapses with its lease). */
  release(): Promise<void>;
}

/** A slot, or how long the delivery should wait before it asks again. */
export type SlotAnswer = { granted: true; slot: DeliverySlot } | { granted: false; waitMs: number };

/**
 * Each tenant's webhook deliveries in flight, counted in Redis so the limit holds across every
 * worker process: a tenant whose receiver never answers holds at most `limit` delivery slots, and
 * the other tenants' deliveries keep the rest.
 */
export interface DeliverySlots {
  /** Takes one of the tenant's slots for this delivery (`webhook-id`), or answers how long it should wait. */
  acquire(tenant: string, webhookId: string): Promise<SlotAnswer>;
}

export interface DeliverySlotOptions {
  prefix: string;
  /** Deliveries one tenant may have in flight at once, across every worker process. */
  limit: number;
  /** The longest a slot is held: a delivery's timeout plus a margin. A worker that dies holding one gives it back after this. */
  leaseMs: number;
}

/** The average hold assumed before a tenant's first delivery ends (at most the lease). */
const FIRST_HOLD_MS = 1_000;
/** The shortest and longest wait of a delivery refused a slot, before it asks again. */
const MIN_WAIT_MS = 50;
const MAX_WAIT_MS = 60_000;
/** How long a tenant's average hold is kept after its last delivery. */
const HOLD_KEPT_MS = 3_600_000;

/**
 * Spreads waits over half to all of the planned wait, so waiting deliveries do not come back
 * together. Early is cheap (one more refusal, its place in the line kept); late leaves a slot idle.
 */
const jitter = (): number => 0.5 + Math.random() / 2;

export function createDeliverySlots(redis: Redis, options: DeliverySlotOptions): DeliverySlots {
  const scripts = defineScripts(redis);
  const { limit, leaseMs } = options;
  const slot = (tenant: string, leaseId: string, startedAt: number): DeliverySlot => ({
    async release() {
      const keys = webhookSlotKeys(options.prefix, tenant);
      await scripts.sluiceWebhookSlotRelease(keys.held, keys.hold, leaseId, Date.now() - startedAt, HOLD_KEPT_MS);
    },
  });
  return {
    async acquire(tenant, webhookId) {
      const keys = webhookSlotKeys(options.prefix, tenant);
      const leaseId = randomUUID();
      const now = Date.now();
      const [granted, waitMs] = await scripts.sluiceWebhookSlotAcquire(
        keys.held, keys.waiting, keys.hold,
        leaseId, webhookId, now, leaseMs, limit, Math.min(FIRST_HOLD_MS, leaseMs), MIN_WAIT_MS, MAX_WAIT_MS, jitter(),
      );
      return granted === 1 ? { granted: true, slot: slot(tenant, leaseId, now) } : { granted: false, waitMs };
    },
  };
}
