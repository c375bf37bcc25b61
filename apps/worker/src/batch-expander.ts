import { createHash } from 'node:crypto';
import { parseByteSize, principalFor, SluiceError } from '@sluice/shared';
import { batchKey, batchLineErrorsKey, enqueueBatchStep, JobRejectedError, JobRequestSchema, admitJob, lowerPriority, PrioritySchema, readBatchLines, UnknownModelError, type Engine, type BatchLine, type BatchRecord, type JobRecord, type Priority } from '@sluice/engine';

/** What expanding a batch into child jobs needs. */
export type ExpandDeps = Pick<Engine, 'config' | 'redis' | 'logger' | 'batches' | 'files' | 'store' | 'lifecycle' | 'price' | 'circuits' | 'spend' | 'cache' | 'batchQueue'>;

/** Children created (and read back when finalizing) per round trip. */
export const CHUNK = 500;

/** A line that became no child: its error-file entry. */
export interface LineError {
  custom_id: string;
  code: string;
  message: string;
}

/** A child's job id, derived from the batch and its line, so a retried expansion recreates nothing. */
const childJobId = (batchId: string, index: number): string => `job_${createHash('sha256').update(`${batchId}:${index}`).digest('base64url').slice(0, 22)}`;

const errorsKey = (context: ExpandDeps, batchId: string): string => batchLineErrorsKey(context.config.redis.prefix, batchId);

/**
 * Batch children run at their batch's priority, or a lower one their line asks for: a line that asks
 * for a higher one is lowered to the batch's (a value that is no priority is left for the schema to
 * refuse). They run within the batch's window.
 */
function childRequest(line: BatchLine, priority: Priority, expiresAt: number, now: number): unknown {
  const asked = PrioritySchema.safeParse(line.body.priority);
  return { ...line.body, priority: asked.success ? lowerPriority(asked.data, priority) : (line.body.priority ?? priority), deadline_s: Math.max(1, expiresAt - now) };
}

async function recordLineErrors(context: ExpandDeps, batchId: string, errors: LineError[]): Promise<void> {
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

async function readCursor(context: ExpandDeps, batchId: string): Promise<ExpandCursor> {
  const [lines, invalid] = await context.redis.hmget(batchKey(context.config.redis.prefix, batchId), 'expanded_lines', 'expanded_invalid');
  return { lines: Number(lines ?? 0), invalid: Number(invalid ?? 0) };
}

/** Makes children of one chunk of requests (or, once the batch is cancelling, cancelled lines), then moves the cursor. False when the batch is gone. */
async function expandChunk(context: ExpandDeps, batch: BatchRecord, pending: PendingLines, cursor: ExpandCursor): Promise<boolean> {
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
export async function expand(context: ExpandDeps, batch: BatchRecord): Promise<void> {
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
