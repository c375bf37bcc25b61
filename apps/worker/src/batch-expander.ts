import { createHash } from 'node:crypto';
import { parseByteSize, principalFor, SluiceError, type Principal } from '@sluice/shared';
import { batchKey, batchLineErrorsKey, enqueueBatchStep, JobRejectedError, jobRequestSchemaFor, admitJob, lowerPriority, PrioritySchema, readBatchLines, UnknownModelError, type Engine, type AnyJobRequest, type BatchLine, type BatchRecord, type JobRecord, type Priority } from '@sluice/engine';

/** What expanding a batch into child jobs needs. */
export type ExpandDeps = Pick<Engine, 'config' | 'redis' | 'logger' | 'batches' | 'files' | 'store' | 'lifecycle' | 'price' | 'circuits' | 'spend' | 'cache' | 'batchQueue' | 'tenantJobs'>;

/** Children created (and read back when finalizing) per round trip. */
export const CHUNK = 500;

/** How long a batch expansion waiting for room under its tenant's `max_queued_jobs` pauses before it looks again. */
export const ROOM_WAIT_MS = 1_000;

/** After this long without getting further, a waiting expansion takes any room (before, a good share of the cap). */
const MAX_ROOM_WAIT_MS = 30_000;

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

/**
 * How far expansion got: requests (valid lines) and invalid lines handled, by count; a resumed
 * expansion skips them. `waitingSince` (ms, 0 when not waiting): when it last began waiting for room
 * under the tenant's `max_queued_jobs`.
 */
interface ExpandCursor {
  lines: number;
  invalid: number;
  waitingSince: number;
}

async function readCursor(context: ExpandDeps, batchId: string): Promise<ExpandCursor> {
  const [lines, invalid, since] = await context.redis.hmget(batchKey(context.config.redis.prefix, batchId), 'expanded_lines', 'expanded_invalid', 'room_wait_since');
  return { lines: Number(lines ?? 0), invalid: Number(invalid ?? 0), waitingSince: Number(since ?? 0) };
}

/** A request line checked into its child's request, or the error that says why it makes none. */
type CheckedRequest = { ok: true; request: AnyJobRequest } | { ok: false; error: LineError };

/** A line checked against its batch's endpoint (one per batch, as OpenAI's), then as a request of that kind. */
function checkRequest(line: BatchLine, batch: Pick<BatchRecord, 'endpoint' | 'priority' | 'expires_at'>, priority: Priority, now: number): CheckedRequest {
  if (line.url !== batch.endpoint) {
    return { ok: false, error: { custom_id: line.custom_id, code: 'invalid_request', message: `url: "${line.url}" is not this batch's endpoint "${batch.endpoint}"; a batch runs one endpoint` } };
  }
  const parsed = jobRequestSchemaFor(batch.endpoint).safeParse(childRequest(line, priority, batch.expires_at, now));
  if (!parsed.success) {
    return { ok: false, error: { custom_id: line.custom_id, code: 'invalid_request', message: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`).join('; ') } };
  }
  if (parsed.data.stream === true) {
    return { ok: false, error: { custom_id: line.custom_id, code: 'invalid_request', message: 'stream: a batch request cannot stream; its answer is a line of the output file' } };
  }
  if (parsed.data.webhook !== undefined) delete parsed.data.webhook; // the batch has its own
  return { ok: true, request: parsed.data };
}

/**
 * Takes the tenant's `max_queued_jobs` places for a chunk's requests that will become children, in
 * line order, in one step; returns the offset of the first that found no room (the chunk's length
 * when all did, or when the key has no cap).
 */
async function takePlaces(context: ExpandDeps, submitter: Principal, ids: readonly string[], checked: readonly (CheckedRequest | null)[], deadline: number): Promise<number> {
  const cap = submitter.maxQueuedJobs;
  if (cap === undefined) return ids.length;
  const wanted = checked.flatMap((entry, offset) => (entry?.ok === true ? [offset] : []));
  const { admitted } = await context.tenantJobs.admit(submitter.tenant, wanted.map((offset) => ids[offset] ?? ''), deadline, cap);
  return wanted[admitted] ?? ids.length;
}

/** What one chunk came to: all of it expanded, part of it (the tenant had no room for the rest), or nothing (the batch is gone). */
type ChunkOutcome = 'done' | 'full' | 'gone';

/**
 * Makes children of one chunk of requests (or, once the batch is cancelling, cancelled lines), as
 * far as the tenant's `max_queued_jobs` has room, then moves the cursor to the first request left.
 */
async function expandChunk(context: ExpandDeps, batch: BatchRecord, pending: PendingLines, cursor: ExpandCursor): Promise<ChunkOutcome> {
  const { batches, store } = context;
  const current = await batches.get(batch.id);
  if (current === null) return 'gone';
  let stop = pending.requests.length;
  const made: Made = { children: [], errors: [...pending.errors] };
  if (current.status === 'cancelling') {
    // Lines not yet started when the batch was cancelled end as cancelled requests.
    for (const { line } of pending.requests) made.errors.push({ custom_id: line.custom_id, code: 'batch_cancelled', message: 'the batch was cancelled before this request started' });
  } else {
    const ids = pending.requests.map(({ index }) => childJobId(batch.id, index));
    const existing = await Promise.all(ids.map((id) => store.get(id)));
    const now = Math.floor(Date.now() / 1000);
    const submitter = principalFor(context.config, batch.tenant);
    // The key's cap as it is now, should the config have lowered it since the batch was made.
    const priority = lowerPriority(current.priority, submitter.maxPriority);
    const checked = pending.requests.map(({ line }, offset) => (existing[offset] === null ? checkRequest(line, current, priority, now) : null));
    stop = await takePlaces(context, submitter, ids, checked, Math.max(now + 1, current.expires_at));
    // Children made before a crash are listed again; finalizing reads each id once.
    made.children.push(...ids.slice(0, stop).filter((_, offset) => existing[offset] !== null));
    await makeChildren(context, current, submitter, pending.requests.slice(0, stop).map(({ line }, offset) => ({ line, id: ids[offset] ?? '', checked: checked[offset] ?? null })), made);
  }
  await batches.addChildren(batch.id, made.children);
  await recordLineErrors(context, batch.id, made.errors);
  await batches.update(batch.id, { expanded_lines: pending.requests[stop]?.index ?? cursor.lines, expanded_invalid: cursor.invalid });
  return stop < pending.requests.length ? 'full' : 'done';
}

/** Children made (their ids) and lines that made none (their errors). */
interface Made {
  children: string[];
  errors: LineError[];
}

/**
 * Routes each checked line into a child and writes them; a line answered from the response cache
 * is made already succeeded, a line no target can take fails alone. Places taken for lines that
 * made no waiting job are given back.
 */
async function makeChildren(context: ExpandDeps, batch: BatchRecord, submitter: Principal, lines: { line: BatchLine; id: string; checked: CheckedRequest | null }[], made: Made): Promise<void> {
  const records: JobRecord[] = [];
  const cached: JobRecord[] = [];
  const unplaced: string[] = [];
  for (const { line, id, checked } of lines) {
    if (checked === null) continue; // made before a crash
    if (!checked.ok) {
      made.errors.push(checked.error);
      continue;
    }
    try {
      // A line that names a faster tier opts its job out of waiting for a provider's batch.
      const batchChild = line.body.tier === undefined || line.body.tier === 'economy';
      const admitted = await admitJob(context, submitter, checked.request, { id, batchId: batch.id, customId: line.custom_id, batchChild, trace: batch.trace });
      if (admitted.cached !== null) cached.push(admitted.cached);
      else records.push(admitted.record);
    } catch (error) {
      if (!(error instanceof JobRejectedError || error instanceof UnknownModelError)) throw error;
      made.errors.push({ custom_id: line.custom_id, code: error.code, message: error.message });
      unplaced.push(id);
    }
  }
  if (submitter.maxQueuedJobs !== undefined) await context.tenantJobs.release(submitter.tenant, [...unplaced, ...cached.map((record) => record.id)]);
  await context.lifecycle.submit(records);
  for (const record of cached) await context.lifecycle.submitCached(record);
  made.children.push(...records.map((record) => record.id), ...cached.map((record) => record.id));
}

/**
 * Whether a batch of a tenant with a `max_queued_jobs` cap should expand now. A resumed expansion
 * reads its input file again up to where it stopped, so it waits for room for a good share of
 * children (half the cap, at most a chunk), or for any room once it has waited MAX_ROOM_WAIT_MS
 * (the tenant's own jobs may keep more than half its places); a first expansion takes any room.
 */
async function roomToExpand(context: ExpandDeps, batch: BatchRecord, cursor: ExpandCursor): Promise<boolean> {
  const cap = principalFor(context.config, batch.tenant).maxQueuedJobs;
  if (cap === undefined || batch.status === 'cancelling') return true;
  const counts = (await context.tenantJobs.counts([batch.tenant])).get(batch.tenant) ?? { queued: 0, running: 0 };
  const room = cap - counts.queued - counts.running;
  const fresh = cursor.lines === 0 && cursor.invalid === 0;
  const waitedLong = cursor.waitingSince > 0 && Date.now() - cursor.waitingSince >= MAX_ROOM_WAIT_MS;
  return room >= (fresh || waitedLong ? 1 : Math.min(CHUNK, Math.ceil(cap / 2)));
}

/** Notes when the batch began waiting for room (again, once it got further), and says it waits. */
async function waitForRoom(context: ExpandDeps, batch: BatchRecord, before: ExpandCursor): Promise<'waiting'> {
  const now = await readCursor(context, batch.id);
  if (before.waitingSince === 0 || now.lines !== before.lines) {
    await context.batches.update(batch.id, { room_wait_since: Date.now() });
    const cap = principalFor(context.config, batch.tenant).maxQueuedJobs;
    context.logger.info({ batch_id: batch.id, tenant: batch.tenant, max_queued_jobs: cap, expanded_lines: now.lines }, "batch expansion waits for room under the tenant's max_queued_jobs");
  }
  return 'waiting';
}

/**
 * Turns each line into a child job (a bad line fails alone), reading the input file chunk by chunk
 * and making children CHUNK at a time, resuming where a crash left off. Children count toward the
 * tenant's `max_queued_jobs`: with no room left it stops where it got to and says it is `waiting`
 * (the step runs again after ROOM_WAIT_MS and resumes there); no line is lost or failed for it.
 */
export async function expand(context: ExpandDeps, batch: BatchRecord): Promise<'done' | 'waiting'> {
  const { batches, files, logger, config } = context;
  const fileId = batch.input_file_id ?? '';
  if (batch.status === 'validating' && (await files.get(fileId, batch.tenant)) === null) {
    await batches.transition(batch.id, ['validating'], 'failed', {
      failed_at: Math.floor(Date.now() / 1000), errors: JSON.stringify({ object: 'list', data: [{ code: 'file_not_found', message: `input file ${batch.input_file_id} is gone`, line: null, param: 'input_file_id' }] }),
    });
    return 'done';
  }
  await batches.transition(batch.id, ['validating'], 'in_progress', { in_progress_at: Math.floor(Date.now() / 1000) });
  const done = await readCursor(context, batch.id);
  if (!(await roomToExpand(context, batch, done))) return waitForRoom(context, batch, done);
  const seen: ExpandCursor = { lines: 0, invalid: 0, waitingSince: 0 };
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
      const outcome = await expandChunk(context, batch, pending, seen);
      if (outcome !== 'done') return outcome === 'full' ? waitForRoom(context, batch, done) : 'done';
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
  const outcome = await expandChunk(context, batch, pending, seen);
  if (outcome !== 'done') return outcome === 'full' ? waitForRoom(context, batch, done) : 'done';
  logger.info({ batch_id: batch.id, tenant: batch.tenant, requests: seen.lines, invalid_lines: seen.invalid }, 'batch expanded');
  if (await batches.expanded(batch.id, seen.lines + seen.invalid)) await enqueueBatchStep(context, batch.id, 'finalize');
  return 'done';
}
