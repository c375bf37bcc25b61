import { duplicateConnection, logConnectionErrors, subscribe, type Logger, type Redis } from '@sluice/shared';
import { cancelChannel } from '@sluice/engine';

export interface CancelRegistry {
  /** A signal that aborts when the job is canceled anywhere (or `abort` is called); call `release` when the call ends. */
  track(jobId: string): { signal: AbortSignal; abort: (reason: Error) => void; release: () => void };
  close(): Promise<void>;
}

/** Aborts in-flight provider calls of jobs canceled through any API process. */
export async function createCancelRegistry(redis: Redis, prefix: string, logger: Logger): Promise<CancelRegistry> {
  const running = new Map<string, AbortController>();
  const subscriber = duplicateConnection(redis);
  logConnectionErrors(subscriber, logger, { connection: 'cancel subscriber' });
  subscriber.on('message', (_channel, jobId: string) => {
    const controller = running.get(jobId);
    if (controller) {
      logger.info({ job_id: jobId }, 'aborting the provider call of a canceled job');
      controller.abort(new Error('job canceled'));
    }
  });
  await subscribe(subscriber, cancelChannel(prefix));
  return {
    track(jobId) {
      const controller = new AbortController();
      running.set(jobId, controller);
      return { signal: controller.signal, abort: (reason) => controller.abort(reason), release: () => void running.delete(jobId) };
    },
    async close() {
      subscriber.disconnect();
    },
  };
}
