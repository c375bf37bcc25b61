import { ATTR_SERVER_ADDRESS, ATTR_SERVER_PORT } from '@opentelemetry/semantic-conventions';
import type { SpanAttributes } from '@sluice/shared';

/** `server.address` and `server.port` of a request to `url`. */
export const serverAttributes = (url: URL): SpanAttributes => ({
  [ATTR_SERVER_ADDRESS]: url.hostname,
  [ATTR_SERVER_PORT]: Number(url.port || (url.protocol === 'https:' ? 443 : 80)),
});
