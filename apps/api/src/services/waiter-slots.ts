import { ApiError } from '../api-error.ts';

/**
 * Open long-polls, event streams and synchronous calls per tenant in this API process, bounded by
 * `server.max_waiters_per_tenant`: one tenant cannot hold every socket and subscription.
 */
export interface WaiterSlots {
  /** Takes a slot for the tenant, or throws a 429 naming the limit; call the result once to give it back. */
  take(tenant: string): () => void;
  /** Slots in use by a tenant. */
  inUse(tenant: string): number;
}

export function createWaiterSlots(maxPerTenant: number): WaiterSlots {
  const used = new Map<string, number>();
  return {
    take(tenant) {
      const count = used.get(tenant) ?? 0;
      if (count >= maxPerTenant) {
        throw new ApiError(`Tenant ${tenant} already has ${maxPerTenant} open waits (long-polls, event streams and synchronous calls; server.max_waiters_per_tenant)`, {
          status: 429, type: 'rate_limit_error', code: 'too_many_waiters', retryAfter: 1,
        });
      }
      used.set(tenant, count + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (used.get(tenant) ?? 1) - 1;
        if (left <= 0) used.delete(tenant);
        else used.set(tenant, left);
      };
    },
    inUse: (tenant) => used.get(tenant) ?? 0,
  };
}
