import type { Logger } from 'pino';

export interface ShutdownOptions {
  /**
   * The grace period `close` is given for running work (`server.shutdown_grace_s`). When set, the
   * process exits 1 if `close` has not finished `marginMs` after it, whatever it waits on. Default:
   * no hard bound.
   */
  graceMs?: number;
  /** How long past `graceMs` closing connections may take before the process exits anyway. Default 5000. */
  marginMs?: number;
}

/**
 * Runs `close` once on SIGTERM or SIGINT, then exits 0 (1 if closing failed or overran the grace
 * period by more than `marginMs`). A second signal exits at once.
 */
export function onShutdown(logger: Logger, close: () => Promise<void>, options: ShutdownOptions = {}): void {
  let stopping = false;
  const handle = (signal: NodeJS.Signals): void => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    if (options.graceMs !== undefined) {
      // The backstop: a close waiting on something that never answers (Redis away) must not keep
      // the process; a running job's lock then expires and another worker re-runs it. The timer is
      // not unref'd: were the loop to drain with `close` unsettled, the process would exit 0.
      const limitMs = options.graceMs + (options.marginMs ?? 5_000);
      setTimeout(() => {
        logger.error({ signal, after_ms: limitMs }, 'shutdown did not finish in time; exiting, running jobs are left to stall recovery');
        process.exit(1);
      }, limitMs);
    }
    close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: (error as Error).message }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', handle);
  process.on('SIGINT', handle);
}
