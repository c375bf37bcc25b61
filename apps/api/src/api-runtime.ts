import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeConnection, createRedis, logConnectionErrors, startTracing, waitUntilReady, type GatewayConfig, type Logger, type Tracing } from '@sluice/shared';
import { closeEngine, openEngine } from '@sluice/engine';
import { createApp } from './app.ts';
import type { ApiDeps } from './deps.ts';
import { createAuthenticator } from './middleware/auth.ts';
import { createJobWatcher } from './services/job-watcher.ts';
import { createStreamHub } from './services/stream-hub.ts';
import { createWaiterSlots } from './services/waiter-slots.ts';

export interface ApiRuntime {
  server: Server;
  /** `http://host:port` actually bound (port 0 in config picks a free one). */
  url: string;
  deps: ApiDeps;
  /** The tracer (null when tracing is off). */
  tracing: Tracing | null;
  close(): Promise<void>;
}

export interface ApiOptions {
  /**
   * A tracer the caller owns and flushes (`npm start` shares one between the API and the worker).
   * Default: the API starts its own from `config.telemetry` and flushes it when it closes.
   */
  tracing?: Tracing | null;
}

/** Connects to Redis, opens the provider queues and listens on `server.host:server.port`. */
export async function startApi(config: GatewayConfig, logger: Logger, options: ApiOptions = {}): Promise<ApiRuntime> {
  const tracing = options.tracing === undefined ? await startTracing(config, { role: 'api', logger }) : options.tracing;
  // One plain connection: lowest latency for every read and status change (synchronous chat waits
  // on several). Submits coalesce their writes by corking it briefly (see the lifecycle's submit).
  const redis = createRedis(config.redis, { role: 'command', connectionName: 'sluice-api', autoPipelining: false });
  logConnectionErrors(redis, logger, { connection: 'sluice-api' });
  await waitUntilReady(redis, 10_000);
  const engine = openEngine(config, redis, logger, Object.keys(config.providers));
  const deps: ApiDeps = {
    ...engine,
    auth: createAuthenticator(config),
    watcher: createJobWatcher(redis, config.redis.prefix, logger, (id) => engine.store.get(id)),
    streams: createStreamHub(redis, logger),
    waiters: createWaiterSlots(config.server.max_waiters_per_tenant),
    requestSpans: tracing === null ? null : (await import('./tracing/request-spans.ts')).requestSpans(tracing),
  };
  const server = createApp(deps).listen(config.server.port, config.server.host);
  await once(server, 'listening');
  // Slow clients must not hold sockets forever; keep-alive outlives typical client pools.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  const { address, port } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  const url = `http://${host}:${port}`;
  logger.info({ url, auth: config.auth.disabled ? 'disabled (loopback only)' : `${config.auth.keys.length} keys` }, 'api listening');

  return {
    server,
    url,
    deps,
    tracing,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Long-polls and event streams end with the process rather than hold it for a minute.
        setTimeout(() => server.closeAllConnections(), 1_000).unref();
      });
      await closeEngine(deps);
      await deps.watcher.close();
      await deps.streams.close();
      // Never waits on an unreachable Redis (QUIT only when the connection is ready).
      await closeConnection(redis);
      if (options.tracing === undefined) await tracing?.shutdown();
      logger.info('api stopped');
    },
  };
}
