import type { Response } from 'express';
import { isTerminal, toJobObject, type JobRecord } from '@sluice/engine';
import type { RecordRead } from '../services/job-watcher.ts';
import type { ApiDeps } from '../deps.ts';
import { SSE_HEADERS, startHeartbeat } from '../services/sse.ts';

/** What this router uses of the API's dependencies. */
type EventsDeps = Pick<ApiDeps, 'watcher'>;

/**
 * `GET /v1/jobs/{id}/events`: server-sent events, one `status` event with the job object now and one
 * per status change after, woken by the job's pub/sub channel; the stream ends after a terminal one.
 * `release` is called once when the stream ends, however it ends.
 */
export async function streamJobEvents(deps: EventsDeps, res: Response, first: JobRecord, release: () => void): Promise<void> {
  res.writeHead(200, SSE_HEADERS);
  let lastStatus: string | null = null;
  let sequence = 0;
  const send = (record: JobRecord): boolean => {
    if (record.status === lastStatus) return isTerminal(record.status);
    lastStatus = record.status;
    sequence += 1;
    res.write(`id: ${sequence}\nevent: status\ndata: ${JSON.stringify(toJobObject(record))}\n\n`);
    return isTerminal(record.status);
  };
  let finished = false;
  let stop: () => void = () => undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    stop();
    release();
    res.end();
  };
  // Registered before anything is awaited: a client that leaves during the subscription still ends it.
  res.on('close', finish);
  if (send(first)) {
    finish();
    return;
  }
  let reading = Promise.resolve();
  const onStatus = (status: string, read: RecordRead): void => {
    if (status === lastStatus) return;
    // Reads are chained so events go out in order even when changes come fast; each change's read
    // is shared with every other stream and waiter on the job.
    reading = reading
      .then(async () => {
        if (finished) return;
        const record = await read();
        if (record === null || send(record)) finish();
      })
      .catch(() => finish());
  };
  try {
    stop = await deps.watcher.watch(first.id, onStatus);
  } catch {
    finish();
    return;
  }
  if (finished) {
    stop(); // the client left while the subscription was made
    return;
  }
  heartbeat = startHeartbeat(res);
}
