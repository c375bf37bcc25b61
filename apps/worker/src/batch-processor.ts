import { createHash } from 'node:crypto';
import { Worker, type Job } from 'bullmq';
import { exceptConnectionErrors, parseByteSize, principalFor, SluiceError } from '@sluice/shared';
import { batchKey, batchLineErrorsKey, bullQueueName, BATCH_QUEUE, BatchJobDataSchema, enqueueBatchStep, enqueueBatchWebhook, JobRejectedError, JobRequestSchema, admitJob, lowerPriority, PrioritySchema, readBatchLines, toBatchObject, UnknownModelError, type BatchJobData, type Engine, type BatchLine, type BatchRecord, type FileWriter, type StoredFile, type JobRecord, type Priority } from '@sluice/engine';
import type { Redis } from '@sluice/shared';

/** What expanding, canceling and finalizing batches needs. */
export type BatchDeps = Pick<Engine, 'config' | 'redis' | 'logger' | 'batches' | 'files' | 'store' | 'lifecycle' | 'price' | 'circuits' | 'spend' | 'cache' | 'batchQueue' | 'webhooks'> & { queueRedis: Redis };

/** Children created (and read back when finalizing) per round trip. */
const CHUNK = 500;

interface LineError {
  custom_id: string;
  code: string;
  message: string;
}

/** A child's job id, derived from the batch and its line, so a retried expansion recreates nothing. */
const childJobId = (batchId: string, index: number): string => `job_${createHash('sha256').update(`${batchId}:${index}`).digest('base64url').slice(0, 22)}`;

const errorsKey = (context: BatchDeps, batchId: string): string => batchLineErrorsKey(context.config.redis.prefix, batchId);

/**
 * Batch children run at their batch's priority, or a lower one their line asks for: a line that asks
 * for a higher one is lowered to the batch's (a value that is no priority is left for the schema to
 * refuse). They run within the batch's window.
 */
function childRequest(line: BatchLine, priority: Priority, expiresAt: number, now: number): unknown {
  const asked = PrioritySchema.safeParse(line.body.priority);
  return { ...line.body, priority: asked.success ? lowerPriority(asked.data, priority) : (line.body.priority ?? priority), deadline_s: Math.max(1, expiresAt - now) };
}

async function recordLineErrors(context: BatchDeps, batchId: string, errors: LineError[]): Promise<void> {
  if (errors.length === 0) return;
  await context.redis
    .pipeline()
    .rpush(errorsKey(context, batchId), ...errors.map((error) => JSON.stringify(error)))
    .expire(errorsKey(context, batchId), context.config.jobs.retention_s)
    .exec();
  await context.batches.countFailedLines(batchId, errors.length);
}

/** Requests read from the input file and not yet made children, with the line errors read among them. */
interface PendingLines {
  requests: { index: number; line: BatchLine }[];
  errors: LineError[];
}

/** How far expansion got: requests (valid lines) and invalid lines handled, by count; a resumed expansion skips them. */
interface ExpandCursor {
  lines: number;
  invalid: number;
}

async function readCursor(context: BatchDeps, batchId: string): Promise<ExpandCursor> {
  const [lines, invalid] = await context.redis.hmget(batchKey(context.config.redis.prefix, batchId), 'expanded_lines', 'expanded_invalid');
  return { lines: Number(lines ?? 0), invalid: Number(invalid ?? 0) };
}

/** Makes children of one chunk of requests (or, once the batch is cancelling, cancelled lines), then moves the cursor. False when the batch is gone. */
async function expandChunk(context: BatchDeps, batch: BatchRecord, pending: PendingLines, cursor: ExpandCursor): Promise<boolean> {
  const { batches, store } = context;
  const current = await batches.get(batch.id);
  if (current === null) return false;
  const errors = [...pending.errors];
  const ids = pending.requests.map(({ index }) => childJobId(batch.id, index));
  const existing = current.status === 'cancelling' ? [] : await Promise.all(ids.map((id) => store.get(id)));
  const records: JobRecord[] = [];
  // Lines answered from the response cache: their children are made already succeeded.
  const cached: JobRecord[] = [];
  const now = Math.floor(Date.now() / 1000);
  const submitter = principalFor(context.config, batch.tenant);
  // The key's cap as it is now, should the config have lowered it since the batch was made.
  const priority = lowerPriority(current.priority, submitter.maxPriority);
  for (const [offset, { line }] of pending.requests.entries()) {
    if (current.status === 'cancelling') {
      // Lines not yet started when the batch was cancelled end as cancelled requests.
      errors.push({ custom_id: line.custom_id, code: 'batch_cancelled', message: 'the batch was cancelled before this request started' });
      continue;
    }
    if (existing[offset] !== null) continue; // created before a crash
    const parsed = JobRequestSchema.safeParse(childRequest(line, priority, current.expires_at, now));
    if (!parsed.success) {
      errors.push({ custom_id: line.custom_id, code: 'invalid_request', message: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') });
      continue;
    }
    if (parsed.data.stream === true) {
      errors.push({ custom_id: line.custom_id, code: 'invalid_request', message: 'stream: a batch request cannot stream; its answer is a line of the output file' });
      continue;
    }
    if (parsed.data.webhook !== undefined) delete parsed.data.webhook; // the batch has its own
    try {
      // A line that names a faster tier opts its job out of waiting for a provider's batch.
      const batchChild = line.body.tier === undefined || line.body.tier === 'economy';
      const admitted = await admitJob(context, submitter, parsed.data, { id: ids[offset] ?? '', batchId: batch.id, customId: line.custom_id, batchChild });
      if (admitted.cached !== null) cached.push(admitted.cached);
      else records.push(admitted.record);
    } catch (error) {
      if (!(error instanceof JobRejectedError || error instanceof UnknownModelError)) throw error;
      errors.push({ custom_id: line.custom_id, code: error.code, message: error.message });
    }
  }
  await context.lifecycle.submit(records);
  for (const record of cached) await context.lifecycle.submitCached(record);
  // Children made before a crash are listed again; finalizing reads each id once.
  await batches.addChildren(batch.id, [...ids.filter((_, offset) => existing[offset] !== undefined && existing[offset] !== null), ...records.map((record) => record.id), ...cached.map((record) => record.id)]);
  await recordLineErrors(context, batch.id, errors);
  await batches.update(batch.id, { expanded_lines: cursor.lines, expanded_invalid: cursor.invalid });
  return true;
}

/**
 * Turns each line into a child job (a bad line fails alone), reading the input file chunk by chunk
 * and making children CHUNK at a time, resuming where a crash left off.
 */
async function expand(context: BatchDeps, batch: BatchRecord): Promise<void> {
  const { batches, files, logger, config } = context;
  const fileId = batch.input_file_id ?? '';
  if (batch.status === 'validating' && (await files.get(fileId, batch.tenant)) === null) {
    await batches.transition(batch.id, ['validating'], 'failed', {
      failed_at: Math.floor(Date.now() / 1000), errors: JSON.stringify({ object: 'list', data: [{ code: 'file_not_found', message: `input file ${batch.input_file_id} is gone`, line: null, param: 'input_file_id' }] }),
    });
    return;
  }
  await batches.transition(batch.id, ['validating'], 'in_progress', { in_progress_at: Math.floor(Date.now() / 1000) });
  const done = await readCursor(context, batch.id);
  const seen: ExpandCursor = { lines: 0, invalid: 0 };
  let pending: PendingLines = { requests: [], errors: [] };
  const limits = { maxLineBytes: parseByteSize(config.server.body_limit), maxJsonDepth: config.server.max_json_depth };
  try {
    for await (const checked of readBatchLines(files.chunks(fileId, batch.tenant), limits)) {
      if (checked.kind === 'request') {
        if (seen.lines >= done.lines) pending.requests.push({ index: seen.lines, line: checked.request });
        seen.lines += 1;
      } else if (checked.kind === 'invalid') {
        if (seen.invalid >= done.invalid) pending.errors.push({ custom_id: '', code: 'invalid_line', message: `line ${checked.line}: ${checked.problem.message}` });
        seen.invalid += 1;
        if (checked.reason === 'too_many') break;
      }
      if (pending.requests.length + pending.errors.length < CHUNK) continue;
      if (!(await expandChunk(context, batch, pending, seen))) return;
      pending = { requests: [], errors: [] };
    }
  } catch (error) {
    if (!(error instanceof SluiceError && error.code === 'file_not_found')) throw error;
    // Deleted or expired while being read: what was read runs, and one error says the rest did not.
    seen.lines = Math.max(seen.lines, done.lines);
    seen.invalid = Math.max(seen.invalid, done.invalid);
    pending.errors.push({ custom_id: '', code: 'file_not_found', message: `input file ${batch.input_file_id} went away after ${seen.lines + seen.invalid} requests were read; the rest did not run` });
    seen.invalid += 1;
  }
  if (!(await expandChunk(context, batch, pending, seen))) return;
  logger.info({ batch_id: batch.id, tenant: batch.tenant, requests: seen.lines, invalid_lines: seen.invalid }, 'batch expanded');
  if (await batches.expanded(batch.id, seen.lines + seen.invalid)) await enqueueBatchStep(context, batch.id, 'finalize');
}

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
  const lineErrors = await context.redis.lrange(errorsKey(context, batch.id), 0, -1);
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
  const step = async (job: Job<BatchJobData>): Promise<void> => {
    const { batch_id: batchId, action } = BatchJobDataSchema.parse(job.data);
    const batch = await context.batches.get(batchId);
    if (batch === null) return;
    if (action === 'expand' && (batch.status === 'validating' || batch.status === 'in_progress' || batch.status === 'cancelling')) await expand(context, batch);
    else if (action === 'cancel') await cancel(context, batch);
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
