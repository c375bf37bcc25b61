import type { Response } from 'express';
import type { AnyJobRequest, JobRecord } from '@sluice/engine';
import type { Principal } from '../middleware/auth.ts';
import { submitJob, type SubmitDeps, type SubmitOptions } from './submit-job.ts';
import { waitForJob, watchForEnd, type WaitDeps } from './wait-for-job.ts';

/**
 * Submits a job and waits for its end (a synchronous request), listening from before the submit
 * (its id, `options.id`, is chosen up front) so the end cannot be missed; stops waiting when the
 * client goes away. An Idempotency-Key replay waits on the job it replays.
 */
export async function submitAndWait(deps: SubmitDeps & WaitDeps, principal: Principal, request: AnyJobRequest, options: SubmitOptions & { id: string }, res: Response, timeoutS: number): Promise<JobRecord> {
  const closed = new AbortController();
  res.on('close', () => closed.abort());
  const watching = watchForEnd(deps, options.id, true);
  // Handled now: it may fail (the subscriber closing at shutdown) while the submit is still running.
  watching.catch(() => undefined);
  let record: JobRecord;
  try {
    // The subscription is in place before the job is written (routing and admission run meanwhile):
    // on a subscriber connection still connecting, an end published first would never be heard.
    ({ record } = await submitJob(deps, principal, request, { ...options, beforeWrite: watching }));
  } catch (error) {
    void watching.then((watch) => watch.stop(), () => undefined);
    throw error;
  }
  if (record.id !== options.id) {
    void watching.then((watch) => watch.stop(), () => undefined);
    return waitForJob(deps, record.id, principal.tenant, timeoutS * 1000, closed.signal);
  }
  return waitForJob(deps, record.id, principal.tenant, timeoutS * 1000, closed.signal, { watch: watching, known: record });
}
