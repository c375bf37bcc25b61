import { createHash } from 'node:crypto';
import { DelayedError, Worker, type Job } from 'bullmq';
import { exceptConnectionErrors } from '@sluice/shared';
import { batchLineErrorsKey, bullQueueName, BATCH_QUEUE, BatchJobDataSchema, enqueueBatchWebhook, toBatchObject, type BatchJobData, type Engine, type BatchRecord, type FileWriter, type StoredFile, type JobRecord } from '@sluice/engine';
import type { Redis } from '@sluice/shared';
import { CHUNK, expand, ROOM_WAIT_MS, type ExpandDeps, type LineError } from './batch-expander.ts';

/** What expanding, canceling and finalizing batches needs. */
export type BatchDeps = ExpandDeps & Pick<Engine, 'webhooks'> & { queueRedis: Redis };

/** Cancels every child still queued; running ones finish. The last one to end finalizes the batch. */
async function cancel(context: BatchDeps, batch: BatchRecord): Promise<void> {
  const { batches, store, logger } = context;
  let canceled = 0;
  for (let start = 0; ; start += CHUNK) {
    const ids = await batches.children(batch.id, start, CHUNK);
    if (ids.length === 0) break;
    for (const record of await Promise.all(ids.map((id) => store.get(id)))) {
      if (record === null || record.status !== 'queued') continue;
      const error = { type: 'job_error', code: 'batch_cancelled', message: 'the batch was cancelled' };
      if ((await context.lifecycle.end(record, { to: 'canceled', from: ['queued'], error })).ok) canceled += 1;
    }
    if (ids.length < CHUNK) break;
  }
  logger.info({ batch_id: batch.id, tenant: batch.tenant, canceled }, 'batch children canceled');
}

/** One output or error line in OpenAI's batch format. */
function outputLine(record: JobRecord): { ok: boolean; line: string } {
  const id = `batch_req_${record.id.slice(4)}`;
  if (record.status === 'succeeded' && record.result !== null) {
    return { ok: true, line: JSON.stringify({ id, custom_id: record.custom_id, response: { status_code: 200, request_id: record.id, body: record.result }, error: null }) };
  }
  const error = record.error ?? { type: 'job_error', code: record.status, message: `request ended ${record.status}` };
  return { ok: false, line: JSON.stringify({ id, custom_id: record.custom_id, response: null, error: { code: error.code, message: error.message } }) };
}

/** One of a batch's result files, written a chunk of lines at a time; made only when it gets a line. */
function resultFile(context: BatchDeps, batch: BatchRecord, kind: 'output' | 'error') {
  let writer: FileWriter | null = null;
  let lines = 0;
  return {
    async write(chunk: string[]): Promise<void> {
      if (chunk.length === 0) return;
      writer ??= context.files.writeUncounted(batch.tenant, `${batch.id}_${kind}.jsonl`, 'batch_output');
      await writer.append(`${chunk.join('\n')}\n`);
      lines += chunk.length;
    },
    lines: () => lines,
    commit: async (): Promise<StoredFile | null> => (writer === null ? null : writer.commit()),
  };
}

/**
 * Writes the output and error files, sets the final status, and sends `batch.<status>`. Results go
 * out a chunk of children at a time: a 50,000-request batch never sits in the worker's memory whole.
 */
async function finalize(context: BatchDeps, batch: BatchRecord): Promise<void> {
  const { batches, store, logger } = context;
  const outputFile = resultFile(context, batch, 'output');
  const errorFile = resultFile(context, batch, 'error');
  let expired = 0;
  const seen = new Set<string>();
  for (let start = 0; ; start += CHUNK) {
    const ids = await batches.children(batch.id, start, CHUNK);
    const fresh = ids.filter((id) => !seen.has(id) && seen.add(id));
    const outputs: string[] = [];
    const failures: string[] = [];
    for (const record of await Promise.all(fresh.map((id) => store.get(id)))) {
      if (record === null) continue;
      const { ok, line } = outputLine(record);
      (ok ? outputs : failures).push(line);
      if (record.status === 'expired') expired += 1;
    }
    await outputFile.write(outputs);
    await errorFile.write(failures);
    if (ids.length < CHUNK) break;
  }
  const lineErrors = await context.redis.lrange(batchLineErrorsKey(context.config.redis.prefix, batch.id), 0, -1);
  await errorFile.write(lineErrors.map((raw) => {
    const error = JSON.parse(raw) as LineError;
    return JSON.stringify({ id: `batch_req_${createHash('sha256').update(raw).digest('base64url').slice(0, 22)}`, custom_id: error.custom_id || null, response: null, error: { code: error.code, message: error.message } });
  }));
  const output = await outputFile.commit();
  const errors = await errorFile.commit();
  const was = await batches.finalizingFrom(batch.id);
  const now = Math.floor(Date.now() / 1000);
  // OpenAI's meaning: `expired` when the completion window ran out before every request finished
  // (what finished is still in the output file).
  const status = was === 'cancelling' ? 'cancelled' : expired > 0 ? 'expired' : 'completed';
  await batches.transition(batch.id, ['finalizing'], status, {
    [`${status === 'cancelled' ? 'cancelled' : status}_at`]: now,
    output_file_id: output?.id ?? '',
    error_file_id: errors?.id ?? '',
  });
  const final = await batches.get(batch.id);
  logger.info({ batch_id: batch.id, tenant: batch.tenant, status, completed: outputFile.lines(), failed: errorFile.lines(), expired }, 'batch finished');
  if (final !== null) await enqueueBatchWebhook(context, final, toBatchObject(final));
}

export interface BatchProcessor {
  close(): Promise<void>;
}

/** The `batches` queue's worker: expand, cancel and finalize steps, each idempotent. */
export function startBatchProcessor(context: BatchDeps): BatchProcessor {
  const step = async (job: Job<BatchJobData>, token?: string): Promise<void> => {
    const { batch_id: batchId, action } = BatchJobDataSchema.parse(job.data);
    const batch = await context.batches.get(batchId);
    if (batch === null) return;
    if (action === 'expand' && (batch.status === 'validating' || batch.status === 'in_progress' || batch.status === 'cancelling')) {
      if ((await expand(context, batch)) === 'done') return;
      // The tenant is at its max_queued_jobs: the same step runs again later (BullMQ's step-job
      // pattern: delayed, no attempt spent) and resumes where this one stopped.
      await job.moveToDelayed(Date.now() + ROOM_WAIT_MS, token);
      throw new DelayedError();
    } else if (action === 'cancel') await cancel(context, batch);
    else if (action === 'finalize' && batch.status === 'finalizing') await finalize(context, batch);
  };
  const worker = new Worker<BatchJobData>(bullQueueName(BATCH_QUEUE), step, {
    connection: context.queueRedis,
    prefix: context.config.redis.prefix,
    concurrency: 4,
  });
  worker.on('error', exceptConnectionErrors(context.queueRedis, context.logger, (error) => context.logger.error({ err: error.message }, 'batch worker error')));
  worker.on('failed', (job, error) => context.logger.error({ batch_id: job?.data.batch_id, action: job?.data.action, err: error.message }, 'batch step failed; it is retried'));
  return { close: () => worker.close() };
}
