import { once } from 'node:events';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { createAuthenticator, keyFromAuthorization, metricsRegistry, type GatewayConfig, type Logger } from '@sluice/shared';

/** A worker's own counters at `/metrics` on `metrics.worker_port` (scrape every worker process). */
export async function serveWorkerMetrics(config: GatewayConfig, logger: Logger): Promise<Server> {
  const auth = createAuthenticator(config);
  const json = (res: ServerResponse, status: number, type: string, code: string, message: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { type, code, message, param: null } }));
  };
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    // The same rule as the API's /metrics: an admin key unless metrics.public (it names tenants).
    if (!config.metrics.public && !auth.disabled) {
      const key = keyFromAuthorization(req.headers.authorization);
      const principal = key === '' ? null : auth.authenticate(key);
      if (principal === null) return json(res, 401, 'authentication_error', key === '' ? 'missing_api_key' : 'invalid_api_key', 'This endpoint needs an admin key');
      if (principal.role !== 'admin') return json(res, 403, 'permission_error', 'admin_required', 'This endpoint needs an admin key');
    }
    void metricsRegistry.metrics().then((text) => res.writeHead(200, { 'content-type': metricsRegistry.contentType }).end(text));
  });
  const { host } = config.server;
  const port = config.metrics.worker_port ?? 0;
  server.listen(port, host);
  await once(server, 'listening');
  logger.info({ address: server.address() }, 'worker metrics listening');
  return server;
}
