import type { RequestHandler, Response } from 'express';
import { keyFromAuthorization, type Authenticator, type Principal } from '@sluice/shared';
import { ApiError } from '../api-error.ts';

export { createAuthenticator, type Authenticator, type Principal } from '@sluice/shared';

export function principalOf(res: Response): Principal {
  return res.locals.principal as Principal;
}

/** Requires `Authorization: Bearer <key>` (or HTTP Basic with the key as password, for browsers). */
export function requireAuth(auth: Authenticator): RequestHandler {
  return (req, res, next) => {
    if (auth.disabled) {
      res.locals.principal = auth.local;
      return next();
    }
    if (!req.headers.authorization) {
      throw new ApiError('Missing API key: send "Authorization: Bearer <key>"', { status: 401, type: 'authentication_error', code: 'missing_api_key' });
    }
    const key = keyFromAuthorization(req.headers.authorization);
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
