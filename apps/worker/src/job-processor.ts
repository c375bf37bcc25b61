import { RateLimitError, UnrecoverableError, type Job } from 'bullmq';
import { ProviderError, type CallOptions, type CompletionResult, type EmbeddingResult, type ProviderAdapter } from '@sluice/providers';
import { estimateEmbeddingTokens, estimatePromptTokens, getMetrics, isCluster, type ProviderConfig } from '@sluice/shared';
import {
  attemptOf,
  attemptOutcomeOf,
  DEADLINE_EXCEEDED,
  DeltaWriter,
  jobStreamKey,
  isTerminal,
  queueJobId,
  jobLogFields,
  QueuedJobDataSchema,
  runsFlex,
  type CallOutcome,
  type Engine,
  type JobRecord,
  type NextStep,
  type QueuedJobData,
  type RoutingCandidate,
} from '@sluice/engine';
import type { CancelRegistry } from './cancel-registry.ts';
import type { WorkerSpans } from './tracing/worker-spans.ts';
import { embedCall, type EmbedEnd } from './embed-call.ts';
import { endStartedStream, streamCall, type StreamedAnswer } from './stream-call.ts';

/** What running a provider queue's entries needs. */
export interface ProcessorDeps extends Pick<Engine, 'config' | 'logger' | 'store' | 'lifecycle' | 'circuits' | 'limiter' | 'queues' | 'price' | 'redis' | 'queueWaits'> {
  adapters: ReadonlyMap<string, ProviderAdapter>;
  cancels: CancelRegistry;
  /** This process opened a provider's circuit: its queue should pause and its jobs move now. */
  onCircuitOpened(provider: string): void;
  /** The job's spans (tracing on), else null. */
  spans: WorkerSpans | null;
}

/** A job that passed the guard: its record names this entry, and its target has a pool here. */
interface Runnable {
  record: JobRecord;
  entry: string;
  candidate: RoutingCandidate;
  adapter: ProviderAdapter;
  provider: ProviderConfig;
  /** The call goes to the provider's flex tier. */
  flex: boolean;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

/**
 * Runs one entry of a provider queue: guard (is this entry the job's live one, and is the job still
 * within its deadline), gates (the circuit, the rate limits), the provider call, then the lifecycle
 * settles the outcome: success, a retry with backoff, a failover, a rate-limit pause, or failure.
 */
export function createJobProcessor(deps: ProcessorDeps) {
  return async function processJob(job: Job<QueuedJobData>): Promise<void> {
    const runnable = await guard(deps, job);
    if (runnable === null) return;
    // Before the gates: a stream its worker left half sent ends here, never moves to another target.
    if (wasStopped(runnable.record) && (await endStartedStream(deps, runnable.record, 'the worker stopped during the stream', callLog(runnable)))) return;
    const tokens = await gates(deps, runnable, job);
    if (tokens === null) return;
    const settled = await callAndSettle(deps, runnable, job, tokens);
    // BullMQ puts the entry back and honours the queue's pause only when the processor throws this.
    if (settled.next?.step === 'rate_limited') throw new RateLimitError();
    if (settled.callFailed) await failEntryOfFailedJob(deps, runnable.record.id);
  };
}

/**
 * The entry whose call ended its job `failed` fails in BullMQ too, with the job's error as its
 * reason, so Bull Board's failed list shows the jobs that failed (entries that led to a retry or a
 * failover complete). The job is settled already: BullMQ's failed handler finds it ended.
 */
async function failEntryOfFailedJob(deps: Pick<ProcessorDeps, 'store'>, id: string): Promise<void> {
  const record = await deps.store.get(id);
  if (record?.status !== 'failed') return;
  const reason = `job ${id} failed: ${record.error?.code ?? 'unknown'}: ${record.error?.message ?? ''}`;
  const failure = new UnrecoverableError(reason);
  failure.stack = reason; // a marker, not a fault: its stack would say nothing
  throw failure;
}

/** The record behind the entry, when this entry should run it now; otherwise settles what it can and returns null. */
async function guard(deps: ProcessorDeps, job: Job<QueuedJobData>): Promise<Runnable | null> {
  const { store, lifecycle, logger } = deps;
  const data = QueuedJobDataSchema.parse(job.data);
  const entry = job.id ?? '';
  const record = await store.get(data.id);
  if (record === null) {
    // Records outlive their deadline plus the retention, so this is a bug or lost data, never routine.
    const provider = job.queueName.replace(/^\{provider-|\}$/g, '');
    getMetrics().orphanedEntries.inc({ provider });
    logger.error({ job_id: data.id, provider, entry }, 'job record is missing for a live queue entry; the entry is dropped');
    return null;
  }
  if (isTerminal(record.status)) return null; // canceled, expired or finished while it waited
  if (record.queue_job_id !== entry) {
    // A stale entry (the job moved on). If a crash kept the record's own entry from being written, write it now.
    if (await lifecycle.repairEntry(record)) logger.warn({ ...jobLogFields(record), stale: entry }, 're-created a lost queue entry');
    return null;
  }
  if (seconds(Date.now()) >= record.expires_at) {
    const expired = await lifecycle.end(record, { to: 'expired', error: DEADLINE_EXCEEDED, guard: entry });
    if (expired.ok) logger.info({ ...jobLogFields(record), outcome: 'expired', reason: 'deadline_exceeded' }, 'job expired');
    return null;
  }
  const candidate = record.routing.candidates[record.target];
  const adapter = candidate ? deps.adapters.get(candidate.provider) : undefined;
  const provider = candidate ? deps.config.providers[candidate.provider] : undefined;
  if (!candidate || !adapter || !provider) {
    await lifecycle.fail(record, { type: 'provider_error', code: 'unknown_provider', message: `target ${record.target} names no enabled provider` }, entry, false);
    return null;
  }
  return { record, entry, candidate, adapter, provider, flex: record.execution?.mode === 'flex' && runsFlex(deps.config, candidate) };
}

/** Tokens a job may use, charged to `tpm` before the call: its prompt estimate plus its completion limit (an embeddings job's input). */
function estimatedTokens(record: JobRecord, defaultMaxTokens: number): number {
  if (record.request.input !== undefined) return estimateEmbeddingTokens(record.request.input);
  const params = record.request.params;
  const limit = Number(params.max_completion_tokens ?? params.max_tokens ?? defaultMaxTokens);
  return estimatePromptTokens(record.request.messages) + (Number.isFinite(limit) ? limit : defaultMaxTokens);
}

/**
 * The circuit and the provider's rate limits. Returns how to settle the `tpm` charge after the call
 * (a rate-limit member), or null when the job went elsewhere. A full window pauses the queue.
 */
async function gates(deps: ProcessorDeps, run: Runnable, job: Job<QueuedJobData>): Promise<{ member: string } | null> {
  const { record, entry, candidate, provider } = run;
  if ((await deps.circuits.openProviders()).has(candidate.provider)) {
    // Picked between the circuit opening and the queue pause taking effect.
    await deps.lifecycle.failover(record, { reason: 'circuit_open', exhaust: false, guard: entry, lastError: `${candidate.provider} circuit open` });
    return null;
  }
  const member = `${entry}:${job.attemptsStarted}:${Date.now()}`;
  // Only providers with a limit pay for it: no Redis call, no token estimate otherwise.
  if (provider.rpm === undefined && provider.tpm === undefined) return { member };
  const tokens = provider.tpm !== undefined ? estimatedTokens(record, deps.config.jobs.default_max_tokens) : 0;
  const limits = { rpm: provider.rpm, tpm: provider.tpm, windowMs: provider.rate_window_s * 1000 };
  const waitMs = await deps.limiter.acquire(`provider:${candidate.provider}`, limits, member, tokens);
  const queue = deps.queues.get(candidate.provider);
  if (waitMs > 0 && queue) {
    await queue.rateLimit(waitMs);
    throw new RateLimitError();
  }
  return { member };
}

function asProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError(`${provider}: ${(error as Error)?.message ?? String(error)}`, { kind: 'retryable', provider, status: null, cause: error });
}

/**
 * Claims the job, calls the provider once, and hands the outcome to the lifecycle. With tracing on,
 * the call is a span (its context goes to the provider) that covers the call and carries what the
 * lifecycle then said the job does next.
 */
async function callAndSettle(deps: ProcessorDeps, run: Runnable, job: Job<QueuedJobData>, rate: { member: string }): Promise<{ next: NextStep | null; callFailed?: boolean }> {
  const { record, entry, candidate, provider } = run;
  const span = deps.spans?.call({ record, candidate, provider, mode: run.flex ? 'flex' : 'realtime' }) ?? null;
  let callEndedAt: number | undefined;
  try {
    const now = Date.now();
    const log = span === null ? callLog(run) : { ...callLog(run), span_id: span.spanId };
    if (wasStopped(record)) await noteStopped(deps, run, log, now);
    const startedAt = Date.now();
    const queueWaitMs = Math.max(0, now - job.timestamp);
    const state: CallState = { startedAt, firstChunkMs: null, headers: span?.headers() };
    const outcome = await claimAndCall(deps, run, now, state, () => noteClaim(deps, run, job, now));
    if (outcome === null) {
      // Canceled or moved between the read and now: the call was aborted as it started.
      span?.settled({ ok: false, error: null, code: 'claim_refused' }, null);
      return { next: null };
    }
    callEndedAt = Date.now();
    const latencyMs = callEndedAt - startedAt;
    countCall(candidate.provider, latencyMs, outcome);
    const limitKey = `provider:${candidate.provider}`;
    const correctTokens = provider.tpm === undefined ? null : (total: number) => deps.limiter.correct(limitKey, rate.member, total);
    const ttft = state.firstChunkMs === null ? {} : { ttft_ms: state.firstChunkMs };
    const next = await deps.lifecycle.settle(
      {
        record, entry, candidate, retry: provider.retry, startedAt, latencyMs, price: deps.price, onCircuitOpened: deps.onCircuitOpened, mode: run.flex ? 'flex' : 'realtime',
        log: { ...log, latency_ms: latencyMs, queue_wait_ms: queueWaitMs, ...ttft },
      },
      outcome.ok ? { ok: true, answer: outcome.answer, correctTokens } : outcome,
    );
    span?.settled(outcome, next, state.firstChunkMs);
    return { next, callFailed: !outcome.ok };
  } finally {
    span?.end(callEndedAt);
  }
}

/** The claim went through: the queue wait is measured (and, tracing on, is a span of the job's trace). */
function noteClaim(deps: ProcessorDeps, run: Runnable, job: Job<QueuedJobData>, now: number): void {
  const { record, entry, candidate } = run;
  getMetrics().queueWait.observe({ provider: candidate.provider }, Math.max(0, now - job.timestamp) / 1000);
  if (record.started_at === null) deps.queueWaits.observe(record.tenant, now - submittedAt(record, entry, job.timestamp), now);
  deps.spans?.queueWait(record, { queue: job.queueName, id: entry, addedAt: job.timestamp }, now);
}

/**
 * When a job was submitted, to the millisecond: its first queue entry's timestamp when that is the
 * entry claimed, else (it moved before its first claim) its record's second.
 */
const submittedAt = (record: JobRecord, entry: string, entryTimestamp: number): number => (entry === queueJobId(record.id, 0) ? entryTimestamp : record.created_at * 1000);

/** A call as it runs: when it began, how long its first chunk took (null until it comes, or when the call is not streamed). */
interface CallState {
  startedAt: number;
  firstChunkMs: number | null;
  /** What the provider request carries beside the adapter's own headers: the call span's trace context. */
  headers: Readonly<Record<string, string>> | undefined;
  /** The deadline moved past the stream's end when its first chunk came (awaited before the job settles). */
  extended?: Promise<void>;
}

/** The log fields of one call of a job. */
const callLog = (run: Runnable): Record<string, unknown> => ({
  ...jobLogFields(run.record), provider: run.candidate.provider, model: run.candidate.model, attempt: run.record.attempts.length + 1, execution: run.flex ? 'flex' : 'realtime',
});

/** The worker that ran this entry died mid-call (BullMQ's stall check handed it to us). */
const wasStopped = (record: JobRecord): boolean => record.status === 'running' && record.running_since !== null;

/** The stopped call goes on the job's history; the job runs again. */
async function noteStopped(deps: ProcessorDeps, run: Runnable, log: Record<string, unknown>, now: number): Promise<void> {
  const since = run.record.running_since ?? now;
  await deps.lifecycle.noteAttempt(run.record, attemptOf(run.candidate, since, now - since, 'interrupted', null, 'worker stopped during the call'));
  deps.logger.warn({ ...log, outcome: 'interrupted' }, 'job was running on a worker that stopped; running it again');
}

type Answer = { ok: true; answer: CompletionResult | EmbeddingResult } | Extract<CallOutcome, { ok: false }>;

/** How a call ended, before its error is classified: a streamed or whole answer, or embeddings. */
type CallEnd = StreamedAnswer | EmbedEnd;

/**
 * The claim (status → running) and the provider call start together, saving a round trip on every
 * job; if the claim is refused (canceled or moved meanwhile) the call is aborted at once (null).
 * A streamed job's chunks wait for the claim before they go to its stream (`running` comes first).
 */
async function claimAndCall(deps: ProcessorDeps, run: Runnable, now: number, timing: CallState, claimed: () => void): Promise<Answer | null> {
  const { record, entry, candidate } = run;
  const claiming = deps.lifecycle.claim(record, entry, candidate, now);
  const { signal, abort, release } = deps.cancels.track(record.id);
  const writer = record.stream === null ? null : new DeltaWriter(deps.redis, jobStreamKey(deps.config.redis.prefix, record.id, isCluster(deps.redis)), deps.config.jobs.stream_max_entries);
  const call = startCall(deps, run, signal, writer, timing);
  const running = await claiming.catch((error: unknown) => {
    abort(error as Error);
    release();
    throw error; // ours (Redis), not the provider's: BullMQ fails the entry and the job moves on
  });
  if (!running.ok) {
    abort(new Error('the job no longer runs here'));
    release();
    return null;
  }
  claimed();
  writer?.start();
  try {
    const outcome = await call;
    await writer?.flush(); // every chunk is in the stream before the end is written after it
    await timing.extended;
    if (outcome.ok) return outcome;
    return { ok: false, error: asProviderError(outcome.error, candidate.provider), partial: outcome.partial };
  } finally {
    release();
  }
}

/** One provider call: whole, or streamed into the job's stream, or embeddings. Never rejects. */
function startCall(deps: ProcessorDeps, run: Runnable, signal: AbortSignal, writer: DeltaWriter | null, timing: CallState): Promise<CallEnd> {
  const { record, candidate, adapter } = run;
  const options: CallOptions = timing.headers === undefined ? { signal, logger: deps.logger } : { signal, logger: deps.logger, headers: timing.headers };
  if (record.request.endpoint === '/v1/embeddings') return embedCall(record, candidate, adapter, options);
  // A job deferred to the flex tier asks for it on a target that sells it.
  const params = run.flex ? { ...record.request.params, service_tier: 'flex' } : record.request.params;
  const request = { model: candidate.model, messages: record.request.messages, params };
  if (writer !== null) {
    return streamCall(adapter, request, options, writer, () => {
      timing.firstChunkMs = Date.now() - timing.startedAt;
      getMetrics().providerTtft.observe({ provider: candidate.provider }, timing.firstChunkMs / 1000);
      // The stream may now last as long as the call's timeout allows, whatever the job's deadline.
      const until = seconds(Date.now() + (run.flex ? run.provider.flex.timeout_ms : run.provider.timeout_ms)) + 1;
      timing.extended = deps.lifecycle.extendDeadline(record, until).catch((error: Error) => deps.logger.warn({ ...jobLogFields(record), err: error.message }, 'could not extend the deadline of a streaming job'));
    });
  }
  return adapter.complete(request, options).then(
    (answer) => ({ ok: true as const, answer }),
    (error: unknown) => ({ ok: false as const, error, partial: null }),
  );
}

function countCall(provider: string, latencyMs: number, outcome: Answer): void {
  const metrics = getMetrics();
  metrics.providerLatency.observe({ provider }, latencyMs / 1000);
  metrics.providerRequests.inc({ provider, outcome: outcome.ok ? 'succeeded' : attemptOutcomeOf(outcome.error) });
}
