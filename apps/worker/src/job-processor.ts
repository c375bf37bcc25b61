import { RateLimitError, type Job } from 'bullmq';
import { ProviderError, type CompletionResult } from '@sluice/providers';
import { estimatePromptTokens, getMetrics } from '@sluice/shared';
import { QueuedJobDataSchema, announceJobEnded, callsMade, costOf, isTerminal, repairEntry, requeueJob, type Attempt, type AttemptOutcome, type JobRecord, type QueuedJobData, type RoutingCandidate } from '@sluice/engine';
import { backoffDelay } from './backoff.ts';
import { failJob, failMaxAttempts, failover, jobFields, seconds, settleSpend } from './job-outcomes.ts';
import { recordSuccess } from './record-success.ts';
import type { WorkerContext } from './worker-context.ts';

const OUTCOMES: Record<ProviderError['kind'], AttemptOutcome> = {
  fatal: 'fatal_error',
  context_length: 'fatal_error',
  auth: 'fatal_error',
  rate_limited: 'rate_limited',
  retryable: 'retryable_error',
  timeout: 'timeout',
  canceled: 'canceled',
};

function asProviderError(error: unknown, provider: string): ProviderError {
  if (error instanceof ProviderError) return error;
  return new ProviderError(`${provider}: ${(error as Error)?.message ?? String(error)}`, { kind: 'retryable', provider, status: null, cause: error });
}

const attemptOf = (candidate: RoutingCandidate, startedAt: number, latencyMs: number, outcome: AttemptOutcome, statusCode: number | null, error: string | null): Attempt => ({
  provider: candidate.provider,
  model: candidate.model,
  started_at: seconds(startedAt),
  latency_ms: latencyMs,
  outcome,
  status_code: statusCode,
  error,
});

/** Tokens a job may use: its prompt estimate plus its completion limit, charged to `tpm` before the call. */
function estimatedTokens(record: JobRecord, defaultMaxTokens: number): number {
  const params = record.request.params;
  const limit = Number(params.max_completion_tokens ?? params.max_tokens ?? defaultMaxTokens);
  return estimatePromptTokens(record.request.messages) + (Number.isFinite(limit) ? limit : defaultMaxTokens);
}

/**
 * Runs one entry of a provider queue: checks the record still names it, the deadline, the circuit
 * and the rate limits, calls the provider once, then settles the outcome: success, a retry entry with
 * backoff, a failover to the next target, a rate-limit pause, or failure.
 */
export function createJobProcessor(context: WorkerContext) {
  const { store, adapters, cancels, logger, config } = context;

  return async function processJob(job: Job<QueuedJobData>): Promise<void> {
    const data = QueuedJobDataSchema.parse(job.data);
    const entry = job.id ?? '';
    const record = await store.get(data.id);
    if (record === null) {
      // Records outlive their deadline plus the retention, so this is a bug or lost data, never routine.
      const provider = job.queueName.replace(/^\{provider-|\}$/g, '');
      getMetrics().orphanedEntries.inc({ provider });
      logger.error({ job_id: data.id, provider, entry }, 'job record is missing for a live queue entry; the entry is dropped');
      return;
    }
    if (isTerminal(record.status)) return; // canceled, expired or finished while it waited
    if (record.queue_job_id !== entry) {
      // A stale entry (the job moved on). If a crash kept the record's own entry from being written, write it now.
      if (await repairEntry(context.queues, record)) logger.warn({ ...jobFields(record), stale: entry }, 're-created a lost queue entry');
      return;
    }
    const now = Date.now();
    if (seconds(now) >= record.expires_at) {
      const expired = await store.transition(record.id, ['queued', 'running'], 'expired', {
        completed_at: seconds(now),
        running_since: null,
        error: { type: 'job_error', code: 'deadline_exceeded', message: 'the job did not finish before expires_at' },
      }, entry);
      if (expired.ok) {
        await settleSpend(context, record, null);
        await announceJobEnded(context, record.id);
        logger.info({ ...jobFields(record), outcome: 'expired', reason: 'deadline_exceeded' }, 'job expired');
      }
      return;
    }
    const candidate = record.routing.candidates[record.target];
    const adapter = candidate ? adapters.get(candidate.provider) : undefined;
    const provider = candidate ? config.providers[candidate.provider] : undefined;
    if (!candidate || !adapter || !provider) {
      await failJob(context, record, { type: 'provider_error', code: 'unknown_provider', message: `target ${record.target} names no enabled provider` }, entry, false);
      return;
    }
    const fields = { ...jobFields(record), provider: candidate.provider, model: candidate.model, attempt: record.attempts.length + 1 };

    if ((await context.circuits.openProviders()).has(candidate.provider)) {
      // Picked between the circuit opening and the queue pause taking effect.
      await failover(context, record, { reason: 'circuit_open', exhaust: false, guard: entry, lastError: `${candidate.provider} circuit open` });
      return;
    }

    const queue = context.queues.get(candidate.provider);
    const limitKey = `provider:${candidate.provider}`;
    const limits = { rpm: provider.rpm, tpm: provider.tpm, windowMs: provider.rate_window_s * 1000 };
    const rateMember = `${entry}:${job.attemptsStarted}:${now}`;
    // Only providers with a limit pay for it: no Redis call, no token estimate otherwise.
    const limited = provider.rpm !== undefined || provider.tpm !== undefined;
    const tokens = provider.tpm !== undefined ? estimatedTokens(record, config.jobs.default_max_tokens) : 0;
    const waitMs = limited ? await context.limiter.acquire(limitKey, limits, rateMember, tokens) : 0;
    if (waitMs > 0 && queue) {
      await queue.rateLimit(waitMs);
      throw new RateLimitError();
    }

    if (record.status === 'running' && record.running_since !== null) {
      // The worker that ran this entry died mid-call (BullMQ's stall check handed it to us).
      await store.appendAttempt(record.id, attemptOf(candidate, record.running_since, now - record.running_since, 'interrupted', null, 'worker stopped during the call'));
      logger.warn({ ...fields, outcome: 'interrupted' }, 'job was running on a worker that stopped; running it again');
    }
    // The claim (status → running) and the provider call start together, saving a round trip on
    // every job; if the claim is refused (canceled or moved meanwhile) the call is aborted at once.
    const claiming = store.transition(record.id, ['queued', 'running'], 'running', {
      started_at: record.started_at ?? seconds(now),
      provider: candidate.provider,
      provider_model: candidate.model,
      running_since: now,
    }, entry);
    const queueWaitMs = Math.max(0, now - job.timestamp);
    const metrics = getMetrics();
    const { signal, abort, release } = cancels.track(record.id);
    const startedAt = Date.now();
    const call = adapter.complete(
      { model: candidate.model, messages: record.request.messages, params: record.request.params },
      { signal, logger },
    );
    call.catch(() => undefined); // settled below; never an unhandled rejection
    const running = await claiming.catch((error: unknown) => {
      abort(error as Error);
      release();
      throw error;
    });
    if (!running.ok) {
      abort(new Error('the job no longer runs here'));
      release();
      return; // canceled or moved between the read and now
    }
    metrics.queueWait.observe({ provider: candidate.provider }, queueWaitMs / 1000);
    let answer: CompletionResult;
    try {
      answer = await call;
    } catch (caught) {
      if (caught instanceof RateLimitError) throw caught;
      const error = asProviderError(caught, candidate.provider);
      const latencyMs = Date.now() - startedAt;
      const outcome = OUTCOMES[error.kind];
      metrics.providerLatency.observe({ provider: candidate.provider }, latencyMs / 1000);
      metrics.providerRequests.inc({ provider: candidate.provider, outcome });
      const base = { ...fields, latency_ms: latencyMs, queue_wait_ms: queueWaitMs, outcome, reason: error.code, status_code: error.status };
      await store.appendAttempt(record.id, attemptOf(candidate, startedAt, latencyMs, outcome, error.status, error.message));
      if (error.kind === 'canceled') {
        logger.info(base, 'provider call aborted: job canceled or expired');
        return;
      }
      await settleFailure(context, { record, job, entry, error, candidate, base, retry: provider.retry });
      return;
    } finally {
      release();
    }
    // Past the call: a failure from here on is ours (Redis), not the provider's, so it is not
    // retried as one; BullMQ fails the entry and the job moves on (recoverFailedEntry).
    const { completion, statusCode } = answer;
    const latencyMs = Date.now() - startedAt;
    metrics.providerLatency.observe({ provider: candidate.provider }, latencyMs / 1000);
    metrics.providerRequests.inc({ provider: candidate.provider, outcome: 'succeeded' });
    const usage = completion.usage ?? null;
    const cost = costOf(usage, context.price(candidate.provider, candidate.model), `${candidate.provider}/${candidate.model}`);
    const finished = await recordSuccess(context, {
      record, entry, candidate, completion, usage, cost, latencyMs, startedAt,
      attempt: attemptOf(candidate, startedAt, latencyMs, 'succeeded', statusCode, null),
      correctTokens: usage && provider.tpm ? () => context.limiter.correct(limitKey, rateMember, usage.total_tokens) : null,
    });
    logger.info(
      {
        ...fields,
        latency_ms: latencyMs,
        queue_wait_ms: queueWaitMs,
        prompt_tokens: usage?.prompt_tokens ?? null,
        completion_tokens: usage?.completion_tokens ?? null,
        cost_usd: cost.usd,
        outcome: finished.ok ? 'succeeded' : finished.previous,
        reason: finished.ok ? null : 'status changed during the call',
        // Prompt and completion text only when the operator asked for it (log_content: true).
        ...(config.log_content ? { messages: record.request.messages, completion: completion.choices.map((choice) => choice.message) } : {}),
      },
      'job finished',
    );
  };
}

interface FailureContext {
  record: JobRecord;
  job: Job<QueuedJobData>;
  entry: string;
  error: ProviderError;
  candidate: RoutingCandidate;
  base: Record<string, unknown>;
  retry: { attempts: number; backoff_ms: number; max_backoff_ms: number };
}

/** The one place a provider error becomes what happens next to the job. */
async function settleFailure(context: WorkerContext, failure: FailureContext): Promise<void> {
  const { record, job, entry, error, candidate, base, retry } = failure;
  const { logger, breaker } = context;
  const provider = candidate.provider;
  switch (error.kind) {
    case 'rate_limited': {
      // The provider's 429 pauses its whole queue for the retry-after; the job's attempts are not spent.
      const pauseMs = error.retryAfterMs ?? backoffDelay(1, retry, null);
      await context.store.transition(record.id, ['running'], 'queued', { running_since: null }, entry);
      await context.queues.get(provider)?.rateLimit(pauseMs);
      logger.warn({ ...base, retry_after_ms: pauseMs }, 'provider rate limit: queue paused for its retry-after');
      throw new RateLimitError();
    }
    case 'fatal':
      await failJob(context, record, { type: 'provider_error', code: error.code, message: error.message }, entry, false);
      return;
    case 'context_length':
      logger.warn(base, 'prompt too long for this model');
      await failover(context, record, { reason: 'context_length_exceeded', exhaust: true, refuse: true, attempted: true, guard: entry, lastError: error.message });
      return;
    case 'auth': {
      // 401/403: the provider is misconfigured for every job, not just this one.
      if (await breaker.forceOpen(provider, 'auth_error')) context.onCircuitOpened(provider);
      logger.error(base, 'provider refused our credentials: circuit opened');
      // Not an error that passes by itself: no new round tries this target again.
      await failover(context, record, { reason: 'auth_error', exhaust: true, refuse: true, attempted: true, guard: entry, lastError: error.message });
      return;
    }
    default: {
      if (await breaker.record(provider, false, error.status === null ? null : Number(base.latency_ms))) context.onCircuitOpened(provider);
      if ((await context.circuits.openProviders(true)).has(provider)) {
        await failover(context, record, { reason: 'circuit_open', exhaust: false, attempted: true, guard: entry, lastError: error.message });
        return;
      }
      const tries = record.tries + 1;
      if (tries < retry.attempts && callsMade(record) + 1 >= context.config.jobs.max_attempts) {
        await failMaxAttempts(context, record, entry, error.message);
        return;
      }
      if (tries < retry.attempts) {
        const delayMs = backoffDelay(tries, retry, error.retryAfterMs);
        await requeueJob(context.store, context.queues, record, { target: record.target, tries, from: ['running'], delayMs });
        logger.warn({ ...base, err: error.message, attempts_left: retry.attempts - tries, backoff_ms: delayMs, bull_attempt: job.attemptsStarted }, 'provider call failed; retrying with backoff');
        return;
      }
      await failover(context, record, { reason: 'retries_exhausted', exhaust: true, attempted: true, guard: entry, lastError: error.message });
    }
  }
}
