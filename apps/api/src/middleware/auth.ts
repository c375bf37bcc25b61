import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler, Response } from 'express';
import type { GatewayConfig } from '@sluice/shared';
import { ApiError } from '../api-error.ts';

export interface Principal {
  tenant: string;
  role: 'admin' | 'tenant';
  rpm?: number | undefined;
  monthlyBudgetUsd?: number | undefined;
  overBudget?: 'reject' | 'economy';
}

interface KeyEntry {
  hash: Buffer;
  principal: Principal;
}

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/** Resolves bearer keys to principals. Keys are held only as SHA-256 digests and compared in constant time. */
export interface Authenticator {
  authenticate(bearer: string): Principal | null;
  readonly disabled: boolean;
}

export function createAuthenticator(config: GatewayConfig): Authenticator {
  const entries: KeyEntry[] = config.auth.keys.map((key) => ({
    hash: key.key_sha256 !== undefined ? Buffer.from(key.key_sha256, 'hex') : sha256(key.key ?? ''),
    principal: { tenant: key.tenant, role: key.role, rpm: key.rpm, monthlyBudgetUsd: key.monthly_budget_usd, overBudget: key.over_budget },
  }));
  return {
    disabled: config.auth.disabled,
    authenticate(bearer) {
      const presented = sha256(bearer);
      let found: Principal | null = null;
      // Every entry is compared, match or not, so timing says nothing about which key matched.
      for (const entry of entries) {
        if (timingSafeEqual(entry.hash, presented) && found === null) found = entry.principal;
      }
      return found;
    },
  };
}

const LOCAL_PRINCIPAL: Principal = { tenant: 'local', role: 'admin' };

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

/** Requires `Authorization: Bearer <key>` (or HTTP Basic with the key as password, for browsers). */
export function requireAuth(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    if (auth.disabled) {
      res.locals.principal = LOCAL_PRINCIPAL;
      return next();
    }
    const header = req.headers.authorization;
    if (!header) {
      throw new ApiError('Missing API key: send "Authorization: Bearer <key>"', { status: 401, type: 'authentication_error', code: 'missing_api_key' });
    }
    const [scheme, value = ''] = header.split(' ', 2);
    let key = '';
    if (scheme?.toLowerCase() === 'bearer') key = value.trim();
    else if (scheme?.toLowerCase() === 'basic') key = Buffer.from(value, 'base64').toString('utf8').split(':').slice(1).join(':');
    const principal = key === '' ? null : auth.authenticate(key);
    if (principal === null) {
      throw new ApiError('Invalid API key', { status: 401, type: 'authentication_error', code: 'invalid_api_key' });
    }
    res.locals.principal = principal;
    next();
  };
}

export const requireAdmin: RequestHandler = (_req, res, next) => {
  if (principalOf(res).role !== 'admin') {
    throw new ApiError('This endpoint needs an admin key', { status: 403, type: 'permission_error', code: 'admin_required' });
  }
  next();
};
