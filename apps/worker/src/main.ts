import { ConfigError, createLogger, loadConfig, onShutdown } from '@sluice/shared';
import { startWorker } from './worker-runtime.ts';

try {
  const { config, source, unsetVariables } = loadConfig();
  const logger = createLogger({ level: config.log_level, name: 'worker' });
  logger.info({ config: source, unset_variables: unsetVariables }, 'config loaded');
  const worker = await startWorker(config, logger);
  onShutdown(logger, () => worker.close());
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}
