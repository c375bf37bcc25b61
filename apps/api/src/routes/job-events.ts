import type { Request, Response } from 'express';
import { isTerminal, toJobObject, type JobRecord } from '@sluice/shared';
import type { ApiDeps } from '../deps.ts';

const HEARTBEAT_MS = 15_000;

/**
 * `GET /v1/jobs/{id}/events`: server-sent events, one `status` event with the job object now and one
 * per status change after, woken by the job's pub/sub channel; the stream ends after a terminal one.
 */
export async function streamJobEvents(deps: ApiDeps, req: Request, res: Response, first: JobRecord): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
  let lastStatus: string | null = null;
  let sequence = 0;
  const send = (record: JobRecord): boolean => {
    if (record.status === lastStatus) return isTerminal(record.status);
    lastStatus = record.status;
    sequence += 1;
    res.write(`id: ${sequence}\nevent: status\ndata: ${JSON.stringify(toJobObject(record))}\n\n`);
    return isTerminal(record.status);
  };
  if (send(first)) {
    res.end();
    return;
  }
  let finished = false;
  let reading = Promise.resolve();
  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearInterval(heartbeat);
    stop();
    res.end();
  };
  const refresh = (): void => {
    // Reads are chained so events go out in order even when changes come fast.
    reading = reading.then(async () => {
      if (finished) return;
      const record = await deps.store.get(first.id);
      if (record === null || send(record)) finish();
    }).catch(() => finish());
  };
  const stop = await deps.watcher.watch(first.id, refresh);
  const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
  req.on('close', finish);
  refresh(); // a change between the first read and the subscription is not missed
}
