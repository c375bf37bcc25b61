import { createHash, timingSafeEqual } from 'node:crypto';
import { parseByteSize } from '../config/load-config.ts';
import type { GatewayConfig } from '../config/schema.ts';

/** Who a request acts for: its tenant, role and the limits of its key. */
export interface Principal {
  tenant: string;
  role: 'admin' | 'tenant';
  rpm?: number | undefined;
  monthlyBudgetUsd?: number | undefined;
  overBudget?: 'reject' | 'economy';
  /** Targets without a price stay eligible despite a budget. */
  allowUnpriced?: boolean;
  /** Bytes of uploaded files the tenant may hold. */
  maxFileBytes: number;
  /** The tenant's share of a provider queue against other tenants' (fair share). */
  weight: number;
  /** The highest priority class the tenant may ask for. */
  maxPriority: 'high' | 'normal' | 'low';
  /** Jobs the tenant may have queued or running at once. */
  maxQueuedJobs?: number | undefined;
}

/** SHA-256 of an API key, hex: the only form in which keys are kept. */
export const hashApiKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/** Resolves bearer keys to principals. Keys are held only as SHA-256 digests and compared in constant time. */
export interface Authenticator {
  authenticate(bearer: string): Principal | null;
  readonly disabled: boolean;
  /** The principal of every request when auth is disabled (loopback only). */
  readonly local: Principal;
}

/** The limits of a tenant's key (the first key naming it), for work that runs without a request (batch children). */
export function principalFor(config: GatewayConfig, tenant: string): Principal {
  const key = config.auth.keys.find((entry) => entry.tenant === tenant);
  return {
    tenant,
    role: key?.role ?? (config.auth.disabled ? 'admin' : 'tenant'),
    rpm: key?.rpm,
    monthlyBudgetUsd: key?.monthly_budget_usd,
    overBudget: key?.over_budget,
    allowUnpriced: key?.allow_unpriced ?? false,
    maxFileBytes: parseByteSize(key?.max_file_bytes ?? config.server.max_file_bytes_per_tenant),
    weight: key?.weight ?? 1,
    maxPriority: key?.max_priority ?? 'high',
    maxQueuedJobs: key?.max_queued_jobs,
  };
}

/** The tenant of every request when auth is disabled. */
const LOCAL_TENANT = 'local';

/** Every tenant the config knows: those its keys name (and the local one when auth is disabled). */
export function knownTenants(config: GatewayConfig): string[] {
  return [...new Set([...config.auth.keys.map((key) => key.tenant), ...(config.auth.disabled ? [LOCAL_TENANT] : [])])];
}

export function createAuthenticator(config: GatewayConfig): Authenticator {
  const entries = config.auth.keys.map((key) => ({
    hash: Buffer.from(key.key_sha256 ?? hashApiKey(key.key ?? ''), 'hex'),
    principal: { ...principalFor(config, key.tenant), role: key.role, rpm: key.rpm, monthlyBudgetUsd: key.monthly_budget_usd, overBudget: key.over_budget, allowUnpriced: key.allow_unpriced, maxPriority: key.max_priority, maxQueuedJobs: key.max_queued_jobs },
  }));
  return {
    disabled: config.auth.disabled,
    local: { ...principalFor(config, LOCAL_TENANT), role: 'admin' },
    authenticate(bearer) {
      const presented = createHash('sha256').update(bearer, 'utf8').digest();
      let found: Principal | null = null;
      // Every entry is compared, match or not, so timing says nothing about which key matched.
      for (const entry of entries) {
        if (timingSafeEqual(entry.hash, presented) && found === null) found = entry.principal;
      }
      return found;
    },
  };
}

/**
 * The API key of an `Authorization` header: `Bearer <key>`, or HTTP Basic with the key as the
 * password (for browsers). Empty when there is none.
 */
export function keyFromAuthorization(header: string | undefined): string {
  if (!header) return '';
  const [scheme, value = ''] = header.split(' ', 2);
  if (scheme?.toLowerCase() === 'bearer') return value.trim();
  if (scheme?.toLowerCase() === 'basic') return Buffer.from(value, 'base64').toString('utf8').split(':').slice(1).join(':');
  return '';
}
