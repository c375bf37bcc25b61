import type { Redis } from 'ioredis';
import { createBoundedIndex } from '../indexes/bounded-index.ts';
import { failedDeliveriesBase, failedDeliveryKey } from '../keys.ts';
import type { WebhookJobData } from '../queues/payloads.ts';

/** A delivery that used up its retries (or was refused), as `GET /v1/webhooks/failed` shows it. */
export interface FailedDelivery {
  object: 'webhook_delivery';
  /** The job (or batch) whose event it was. */
  job_id: string;
  kind: 'job' | 'batch';
  webhook_id: string;
  event: string;
  url: string;
  attempts: number;
  failed_reason: string;
  failed_at: number;
}

/** A kept failed delivery: what is listed, plus what a redelivery sends again. */
export interface KeptDelivery extends FailedDelivery {
  tenant: string;
  /** The exact body, signed again at redelivery. */
  payload: string;
}

/**
 * Failed deliveries, kept with their body for `webhooks.failed_retention_s` so they can be sent
 * again with the same `webhook-id`, at most `webhooks.max_failed_per_tenant` per tenant.
 */
export interface FailedDeliveryStore {
  add(data: WebhookJobData, attempts: number, reason: string): Promise<void>;
  get(webhookId: string): Promise<KeptDelivery | null>;
  /** Drops a kept delivery (sent again, or delivered after all). */
  remove(delivery: Pick<KeptDelivery, 'webhook_id'>): Promise<void>;
  page(tenant: string | null, options: { after?: string | undefined; limit: number }): Promise<{ data: KeptDelivery[]; has_more: boolean }>;
}

export function createFailedDeliveryStore(redis: Redis, options: { prefix: string; retentionSeconds: number; maxPerTenant: number }): FailedDeliveryStore {
  const entryKey = (webhookId: string): string => failedDeliveryKey(options.prefix, webhookId);
  const index = createBoundedIndex(redis, failedDeliveriesBase(options.prefix), { maxAgeSeconds: options.retentionSeconds, maxPerTenant: options.maxPerTenant });
  const read = async (webhookIds: string[]): Promise<(KeptDelivery | null)[]> => {
    if (webhookIds.length === 0) return [];
    const values = await redis.mget(...webhookIds.map(entryKey));
    return values.map((value) => (value === null ? null : (JSON.parse(value) as KeptDelivery)));
  };
  return {
    async add(data, attempts, reason) {
      const now = Date.now();
      const kept: KeptDelivery = {
        object: 'webhook_delivery', job_id: data.job_id, kind: data.kind ?? 'job', webhook_id: data.webhook_id, event: data.event, url: data.url,
        attempts, failed_reason: reason, failed_at: Math.floor(now / 1000), tenant: data.tenant, payload: data.payload,
      };
      await redis.set(entryKey(data.webhook_id), JSON.stringify(kept), 'EX', options.retentionSeconds);
      const dropped = await index.add(data.tenant, data.webhook_id, now);
      if (dropped.length > 0) await redis.del(...dropped.map(entryKey));
    },
    async get(webhookId) {
      return (await read([webhookId]))[0] ?? null;
    },
    async remove(delivery) {
      // Its place in the listing stays (it lists kept deliveries only), so a cursor on it still pages on.
      await redis.del(entryKey(delivery.webhook_id));
    },
    page: (tenant, pageOptions) => index.page(tenant, pageOptions, read),
  };
}
