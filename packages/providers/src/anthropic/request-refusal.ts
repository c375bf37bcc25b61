import type { RequestRefusalTest } from '../http/classify-error.ts';

/**
 * Anthropic answers a wrong key with 401 `authentication_error`, and a key that may not use
 * something the request names (a model, a file, a beta feature) with 403 `permission_error`. That
 * 403 is taken as about the request: tenants choose the model (`anthropic/<any model>`) and the
 * files, while the circuit is per provider, so opening it would let one tenant's request stop
 * Anthropic for all while the key still serves every other model. The price: if the configured
 * model itself is barred, its jobs fail with `provider_refused_request` instead of failing over,
 * which at least names the cause. Other 403s (a region block, a proxy's page) are about the key.
 */
const PERMISSION_ERROR = /"type"\s*:\s*"permission_error"/;

/** Whether an Anthropic 403 is about the request (`permission_error`) rather than the key. */
export const isAnthropicRequestRefusal: RequestRefusalTest = (bodyStart) => PERMISSION_ERROR.test(bodyStart);
