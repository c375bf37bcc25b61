import { ProviderError, type CompletionResult, type EmbeddingResult } from '@sluice/providers';
import { estimatePromptTokens, type ChatCompletion, type ProviderConfig, type Usage } from '@sluice/shared';
import { callAnswer, contentLog } from './call-answer.ts';
import { callsMade, chatResult, type Attempt, type AttemptOutcome, type ExecutionMode, type JobRecord, type RoutingCandidate } from '../jobs/job-types.ts';
import { costOf, type PriceLookup } from '../pricing/prices.ts';
import { backoffDelay } from './backoff.ts';
import type { Interrupted, Lifecycle } from './lifecycle.ts';

/** One provider call the worker made for a job, as it settles it. */
export interface Call {
  record: JobRecord;
  /** The queue entry that ran the call: every write is guarded by it. */
  entry: string;
  candidate: RoutingCandidate;
  retry: ProviderConfig['retry'];
  startedAt: number;
  latencyMs: number;
  /** Log fields of the call (job, tenant, route, provider, attempt, latency, queue wait). */
  log: Record<string, unknown>;
  price: PriceLookup;
  /** A provider batch's result line, not a call: it says nothing of the provider's real-time health. */
  fromBatch?: boolean;
  /** How the call ran (its price). Default realtime. */
  mode?: ExecutionMode;
  /** This process opened the provider's circuit: its queue should pause and its jobs move. */
  onCircuitOpened(provider: string): void;
}

export type CallOutcome =
  | { ok: true; answer: CompletionResult | EmbeddingResult; correctTokens: ((totalTokens: number) => Promise<void>) | null }
  /** `partial`: what a stream that broke after its first chunk had sent (its text is kept on the job). */
  | { ok: false; error: ProviderError; partial?: ChatCompletion | null };

/**
 * What the call led to, as its trace tells it: the job succeeded (at `costUsd`), runs the call again
 * (`retry`, after a backoff or in the default tier), moves to another target (`failover`, `reason`
 * saying why), waits out a provider rate limit, or ended otherwise (failed, canceled, or changed
 * during the call: `reason`).
 */
export interface NextStep {
  step: 'succeeded' | 'retry' | 'failover' | 'rate_limited' | 'ended';
  reason: string | null;
  costUsd?: number | null;
}

export const nextStep = (name: NextStep['step'], reason: string | null = null): NextStep => ({ step: name, reason });

const OUTCOMES: Record<ProviderError['kind'], AttemptOutcome> = {
  fatal: 'fatal_error',
  context_length: 'fatal_error',
  auth: 'fatal_error',
  rate_limited: 'rate_limited',
  retryable: 'retryable_error',
  timeout: 'timeout',
  canceled: 'canceled',
  flex_unavailable: 'retryable_error',
};

/** The attempt outcome a provider error is recorded as. */
export const attemptOutcomeOf = (error: ProviderError): AttemptOutcome => OUTCOMES[error.kind];

export const attemptOf = (candidate: RoutingCandidate, startedAt: number, latencyMs: number, outcome: AttemptOutcome, statusCode: number | null, error: string | null): Attempt => ({
  provider: candidate.provider,
  model: candidate.model,
  started_at: Math.floor(startedAt / 1000),
  latency_ms: latencyMs,
  outcome,
  status_code: statusCode,
  error,
});

/**
 * The one place a provider call's outcome becomes what happens next to the job. On `rate_limited`
 * the provider's queue is paused and the caller must have BullMQ put the entry back.
 */
export async function settleCall(lifecycle: Lifecycle, call: Call, outcome: CallOutcome): Promise<NextStep> {
  if (outcome.ok) return settleSuccess(lifecycle, call, outcome.answer, outcome.correctTokens);
  const { error } = outcome;
  await lifecycle.noteAttempt(call.record, attemptOf(call.candidate, call.startedAt, call.latencyMs, OUTCOMES[error.kind], error.status, error.message));
  if (error.kind === 'canceled') {
    lifecycle.deps.logger.info({ ...call.log, outcome: 'canceled', reason: error.code, status_code: error.status }, 'provider call aborted: job canceled or expired');
    if (error.afterFirstChunk && outcome.partial) await lifecycle.chargeAbandoned(call.record, streamCharge(call, outcome.partial));
    return nextStep('ended', 'canceled');
  }
  if (error.afterFirstChunk) {
    await settleInterrupted(lifecycle, call, error, outcome.partial ?? null);
    return nextStep('ended', 'stream_interrupted');
  }
  return settleFailure(lifecycle, call, error);
}

/** The code of a streamed call cut short because its worker stopped, not because of the provider. */
export const WORKER_STOPPED = 'worker_stopped';

/** Usage of a stream that broke before the provider reported any: the prompt estimated, the text sent counted at 4 characters a token. */
function estimatedUsage(call: Call, partial: ChatCompletion | null): Usage {
  const sent = (partial?.choices ?? []).reduce((sum, choice) => sum + (choice.message.content?.length ?? 0) + (choice.message.tool_calls ?? []).reduce((n, c) => n + c.function.arguments.length, 0), 0);
  const prompt = estimatePromptTokens(call.record.request.messages);
  const completion = Math.ceil(sent / 4);
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

/**
 * A stream that broke after its first chunk reached the client: no retry or failover (the client
 * has part of an answer), the job fails with `stream_interrupted`, keeping the text sent and an
 * estimate of what it cost (the provider bills what it generated). It counts against the circuit.
 */
async function settleInterrupted(lifecycle: Lifecycle, call: Call, error: ProviderError, partial: ChatCompletion | null): Promise<void> {
  const { candidate, record } = call;
  const { breaker, logger } = lifecycle.deps;
  const providerFault = error.code !== WORKER_STOPPED;
  if (providerFault && (await breaker.record(candidate.provider, false, call.latencyMs))) call.onCircuitOpened(candidate.provider);
  const charge = streamCharge(call, partial);
  await lifecycle.interrupt(record, call.entry, { error: { type: 'provider_error', code: 'stream_interrupted', message: error.message }, ...charge });
  logger.warn({ ...call.log, outcome: 'failed', reason: 'stream_interrupted', err: error.message, cost_usd: charge.costUsd }, 'provider stream broke after its first chunk: job failed, the text sent is kept');
}

/** What a stream that ended early cost: its usage when the provider reported it, else an estimate of what was sent. */
function streamCharge(call: Call, partial: ChatCompletion | null): Omit<Interrupted, 'error'> {
  const { candidate } = call;
  const usage = partial?.usage ?? estimatedUsage(call, partial);
  const cost = costOf(usage, call.price(candidate.provider, candidate.model), `${candidate.provider}/${candidate.model}`, call.mode);
  const costDetails = cost.usd === null || partial?.usage ? cost.details : { ...cost.details, reason: 'estimated: the stream ended before the provider reported its usage' };
  return { result: partial, usage, costUsd: cost.usd, costDetails };
}

async function settleSuccess(lifecycle: Lifecycle, call: Call, answer: CompletionResult | EmbeddingResult, correctTokens: ((totalTokens: number) => Promise<void>) | null): Promise<NextStep> {
  const { record, candidate, latencyMs } = call;
  const { result, usage, estimated, statusCode } = callAnswer(record, answer);
  const priced = costOf(usage, call.price(candidate.provider, candidate.model), `${candidate.provider}/${candidate.model}`, call.mode);
  const cost = estimated === null || priced.usd === null ? priced : { ...priced, details: { ...priced.details, reason: estimated } };
  const finished = await lifecycle.succeed({
    record, entry: call.entry, candidate, result, usage, cost, latencyMs, startedAt: call.startedAt, mode: call.mode ?? 'realtime',
    attempt: attemptOf(candidate, call.startedAt, latencyMs, 'succeeded', statusCode, null),
    correctTokens: usage && correctTokens ? () => correctTokens(usage.total_tokens) : null,
  });
  const completion = chatResult(result);
  if (!finished.ok && record.stream !== null && completion !== null && (finished.previous === 'canceled' || finished.previous === 'expired')) {
    // Its client had the whole answer streamed before the cancel or the deadline won: billed all the same.
    await lifecycle.chargeAbandoned(record, { result: completion, usage: usage ?? estimatedUsage(call, completion), costUsd: cost.usd, costDetails: cost.details });
  }
  const { config, logger } = lifecycle.deps;
  logger.info(
    {
      ...call.log,
      prompt_tokens: usage?.prompt_tokens ?? null,
      completion_tokens: usage?.completion_tokens ?? null,
      cost_usd: cost.usd,
      saved_usd: cost.details.saved_usd ?? null,
      // A job that asked for caching ran because it missed (a hit never reaches a worker).
      ...(record.cache === null ? {} : { cache: 'miss' }),
      outcome: finished.ok ? 'succeeded' : finished.previous,
      reason: finished.ok ? null : 'status changed during the call',
      // Prompt and completion text only when the operator asked for it (log_content: true).
      ...(config.log_content ? contentLog(record, result) : {}),
    },
    'job finished',
  );
  return finished.ok ? { step: 'succeeded', reason: null, costUsd: cost.usd } : nextStep('ended', `${finished.previous ?? 'changed'} during the call`);
}

async function settleFailure(lifecycle: Lifecycle, call: Call, error: ProviderError): Promise<NextStep> {
  const { record, entry, retry, log } = call;
  const { logger, breaker, queues } = lifecycle.deps;
  const provider = call.candidate.provider;
  const base = { ...log, outcome: OUTCOMES[error.kind], reason: error.code, status_code: error.status };
  switch (error.kind) {
    case 'rate_limited': {
      // The provider's 429 pauses its whole queue for the retry-after; the job's attempts are not spent.
      const pauseMs = error.retryAfterMs ?? backoffDelay(1, retry, null);
      await lifecycle.unclaim(record, entry);
      await queues.get(provider)?.rateLimit(pauseMs);
      logger.warn({ ...base, retry_after_ms: pauseMs }, 'provider rate limit: queue paused for its retry-after');
      return nextStep('rate_limited');
    }
    case 'fatal':
      await lifecycle.fail(record, { type: 'provider_error', code: error.code, message: error.message }, entry, false);
      return nextStep('ended', error.code);
    case 'context_length':
      logger.warn(base, 'prompt too long for this model');
      await lifecycle.failover(record, { reason: 'context_length_exceeded', exhaust: true, refuse: true, attempted: true, guard: entry, lastError: error.message });
      return nextStep('failover', 'context_length_exceeded');
    case 'auth':
      // 401/403: the provider is misconfigured for every job, not just this one.
      if (await breaker.forceOpen(provider, 'auth_error')) call.onCircuitOpened(provider);
      logger.error(base, 'provider refused our credentials: circuit opened');
      // Not an error that passes by itself: no new round tries this target again.
      await lifecycle.failover(record, { reason: 'auth_error', exhaust: true, refuse: true, attempted: true, guard: entry, lastError: error.message });
      return nextStep('failover', 'auth_error');
    case 'flex_unavailable':
      // The flex tier had no capacity. The provider itself is healthy: its circuit hears nothing of
      // it and, unlike a rate limit, no queue pauses. Near the deadline the job runs in the default
      // tier at once; otherwise it tries flex again after a backoff.
      if (!flexDeadlineNear(lifecycle, call)) return await retryOrMove(lifecycle, call, error, base, false);
      logger.warn({ ...base, err: error.message }, 'flex tier unavailable near the deadline: running in the default tier');
      await lifecycle.leaveFlex(record, entry);
      return nextStep('retry', 'default_tier');
    default:
      return await retryOrMove(lifecycle, call, error, base, call.fromBatch !== true);
  }
}

/** Less than two flex calls' time (`flex.timeout_ms`) is left before the job's deadline. */
function flexDeadlineNear(lifecycle: Lifecycle, call: Call): boolean {
  const timeoutMs = lifecycle.deps.config.providers[call.candidate.provider]?.flex.timeout_ms ?? 900_000;
  return call.record.expires_at * 1000 - Date.now() < 2 * timeoutMs;
}

/** An error that may pass: counts against the circuit when `countsAgainstCircuit`, then a retry with backoff, or the next target. */
async function retryOrMove(lifecycle: Lifecycle, call: Call, error: ProviderError, base: Record<string, unknown>, countsAgainstCircuit: boolean): Promise<NextStep> {
  const { record, entry, retry } = call;
  const { breaker, circuits, config, logger } = lifecycle.deps;
  const provider = call.candidate.provider;
  if (countsAgainstCircuit && (await breaker.record(provider, false, error.status === null ? null : call.latencyMs))) call.onCircuitOpened(provider);
  if ((await circuits.openProviders(true)).has(provider)) {
    await lifecycle.failover(record, { reason: 'circuit_open', exhaust: false, attempted: true, guard: entry, lastError: error.message });
    return nextStep('failover', 'circuit_open');
  }
  const tries = record.tries + 1;
  if (tries >= retry.attempts && error.kind === 'flex_unavailable') {
    // Flex stayed out of capacity through every retry: the default tier takes the job instead of failing it.
    await lifecycle.leaveFlex(record, entry);
    return nextStep('retry', 'default_tier');
  }
  if (tries >= retry.attempts) {
    await lifecycle.failover(record, { reason: 'retries_exhausted', exhaust: true, attempted: true, guard: entry, lastError: error.message });
    return nextStep('failover', 'retries_exhausted');
  }
  if (callsMade(record) + 1 >= config.jobs.max_attempts) {
    await lifecycle.failMaxAttempts(record, entry, error.message);
    return nextStep('ended', 'max_attempts_exceeded');
  }
  const delayMs = backoffDelay(tries, retry, error.retryAfterMs);
  await lifecycle.retry({ ...record, queue_job_id: entry }, tries, delayMs);
  logger.warn({ ...base, err: error.message, attempts_left: retry.attempts - tries, backoff_ms: delayMs }, 'provider call failed; retrying with backoff');
  return nextStep('retry', 'backoff');
}
