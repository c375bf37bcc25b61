import { ConfigError, createLogger, loadConfig, onShutdown } from '@sluice/shared';
import { startApi } from './api-runtime.ts';

try {
  const { config, source, unsetVariables } = loadConfig();
  const logger = createLogger({ level: config.log_level, name: 'api' });
  logger.info({ config: source, unset_variables: unsetVariables }, 'config loaded');
  const api = await startApi(config, logger);
  onShutdown(logger, () => api.close());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
