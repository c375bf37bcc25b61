import { bootstrap, onShutdown } from '@sluice/engine';
import { startWorker } from './worker-runtime.ts';

const { config, logger } = bootstrap('worker');
try {
  const worker = await startWorker(config, logger);
  onShutdown(logger, () => worker.close(), { graceMs: config.server.shutdown_grace_s * 1000 });
} catch (error) {
  logger.fatal({ err: (error as Error).message }, 'cannot start the worker');
  process.exit(1);
}
