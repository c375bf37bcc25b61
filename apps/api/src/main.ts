import { bootstrap, onShutdown } from '@sluice/engine';
import { startApi } from './api-runtime.ts';

const { config, logger } = bootstrap('api');
try {
  const api = await startApi(config, logger);
  onShutdown(logger, () => api.close(), { graceMs: config.server.shutdown_grace_s * 1000 });
} catch (error) {
  logger.fatal({ err: (error as Error).message }, 'cannot start the API');
  process.exit(1);
}
