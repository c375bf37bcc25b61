import type { GatewayConfig } from '@sluice/shared';
import { loadConfig } from '@sluice/providers';
import { ConfigError } from '@sluice/shared';
import { createLogger, type Logger } from '@sluice/shared';

/**
 * Loads the config for an entry point (`api`, `worker`, `sluice`) and makes its logger. A bad
 * config prints every problem and exits 2, before anything connects.
 */
export function bootstrap(name: string, env: NodeJS.ProcessEnv = process.env): { config: GatewayConfig; logger: Logger } {
  try {
    const { config, source, unsetVariables, warnings } = loadConfig(env);
    const logger = createLogger({ level: config.log_level, name });
    logger.info({ config: source, unset_variables: unsetVariables }, 'config loaded');
    for (const warning of warnings) logger.warn({ config: source }, warning);
    return { config, logger };
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }
}
