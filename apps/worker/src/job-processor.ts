import type { Job } from 'bullmq';
import { ProviderError, type ProviderAdapter } from '@sluice/providers';
import {
  QueuedJobDataSchema,
  costOf,
  isTerminal,
  type Attempt,
  type AttemptOutcome,
  type GatewayConfig,
  type JobRecord,
  type JobStore,
  type Logger,
  type PriceLookup,
  type QueuedJobData,
} from '@sluice/shared';
import type { CancelRegistry } from './cancel-registry.ts';

export interface JobProcessorDeps {
  config: GatewayConfig;
  store: JobStore;
  adapters: ReadonlyMap<string, ProviderAdapter>;
  cancels: CancelRegistry;
  price: PriceLookup;
  logger: Logger;
}

const seconds = (ms: number): number => Math.floor(ms / 1000);

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

/**
 * Runs one BullMQ job of a provider queue: reads the job record, calls the provider once, and
 * writes the outcome. A retryable failure is rethrown so BullMQ retries it with backoff; the
 * record, not BullMQ, is what clients read.
 */
export function createJobProcessor(deps: JobProcessorDeps) {
  const { store, adapters, cancels, logger } = deps;

  const eventFields = (record: JobRecord, attempt: number) => ({
    job_id: record.id,
    tenant: record.tenant,
    route: record.routing.route,
    attempt,
  });

  return async function processJob(job: Job<QueuedJobData>): Promise<void> {
    const data = QueuedJobDataSchema.parse(job.data);
    const record = await store.get(data.id);
    if (record === null) {
      logger.warn({ job_id: data.id }, 'job record is gone (retention passed?); dropping the queue entry');
      return;
    }
    if (isTerminal(record.status)) return; // canceled (or finished) while it waited
    const now = Date.now();
    const attemptNumber = job.attemptsMade + 1;
    const fields = eventFields(record, attemptNumber);
    if (seconds(now) >= record.expires_at) {
      const expired = await store.transition(record.id, ['queued', 'running'], 'expired', {
        completed_at: seconds(now),
        error: { type: 'job_error', code: 'deadline_exceeded', message: 'the job did not finish before expires_at' },
      });
      if (expired.ok) logger.info({ ...fields, outcome: 'expired', reason: 'deadline_exceeded' }, 'job expired');
      return;
    }
    const candidate = record.routing.candidates[data.target];
    const adapter = candidate ? adapters.get(candidate.provider) : undefined;
    if (!candidate || !adapter) {
      await store.transition(record.id, ['queued', 'running'], 'failed', {
        completed_at: seconds(now),
        error: { type: 'provider_error', code: 'unknown_provider', message: `target ${data.target} names no configured provider` },
      });
      return;
    }
    const running = await store.transition(record.id, ['queued', 'running'], 'running', {
      started_at: record.started_at ?? seconds(now),
      provider: candidate.provider,
      provider_model: candidate.model,
    });
    if (!running.ok) return; // canceled between the read and now
    const queueWaitMs = Math.max(0, now - job.timestamp);
    const { signal, release } = cancels.track(record.id);
    const startedAt = Date.now();
    try {
      const { completion, statusCode } = await adapter.complete(
        { model: candidate.model, messages: record.request.messages, params: record.request.params },
        { signal, logger },
      );
      const latencyMs = Date.now() - startedAt;
      const usage = completion.usage ?? null;
      const target = `${candidate.provider}/${candidate.model}`;
      const cost = costOf(usage, deps.price(candidate.provider, candidate.model), target);
      await store.appendAttempt(record.id, attemptRecord(candidate, startedAt, latencyMs, 'succeeded', statusCode, null));
      const finished = await store.transition(record.id, ['running'], 'succeeded', {
        completed_at: seconds(Date.now()),
        result: completion,
        usage,
        cost_usd: cost.usd,
        cost_details: cost.details,
        error: null,
      });
      logger.info(
        {
          ...fields,
          provider: candidate.provider,
          model: candidate.model,
          latency_ms: latencyMs,
          queue_wait_ms: queueWaitMs,
          prompt_tokens: usage?.prompt_tokens ?? null,
          completion_tokens: usage?.completion_tokens ?? null,
          cost_usd: cost.usd,
          outcome: finished.ok ? 'succeeded' : finished.previous,
          reason: finished.ok ? null : 'status changed during the call',
        },
        'job finished',
      );
    } catch (caught) {
      const error = asProviderError(caught, candidate.provider);
      const latencyMs = Date.now() - startedAt;
      const outcome = OUTCOMES[error.kind];
      await store.appendAttempt(record.id, attemptRecord(candidate, startedAt, latencyMs, outcome, error.status, error.message));
      const base = { ...fields, provider: candidate.provider, model: candidate.model, latency_ms: latencyMs, queue_wait_ms: queueWaitMs, outcome, reason: error.code };
      if (error.kind === 'canceled') {
        logger.info(base, 'provider call aborted: job canceled');
        return;
      }
      const attemptsLeft = (job.opts.attempts ?? 1) - attemptNumber;
      if (error.retryable && attemptsLeft > 0) {
        await store.transition(record.id, ['running'], 'queued');
        logger.warn({ ...base, err: error.message, attempts_left: attemptsLeft }, 'provider call failed; retrying with backoff');
        throw error;
      }
      const failed = await store.transition(record.id, ['running'], 'failed', {
        completed_at: seconds(Date.now()),
        error: { type: 'provider_error', code: error.retryable ? 'all_targets_failed' : error.code, message: error.message },
      });
      if (failed.ok) logger.warn({ ...base, err: error.message }, 'job failed');
    } finally {
      release();
    }
  };
}

function attemptRecord(
  candidate: { provider: string; model: string },
  startedAt: number,
  latencyMs: number,
  outcome: AttemptOutcome,
  statusCode: number | null,
  error: string | null,
): Attempt {
  return { provider: candidate.provider, model: candidate.model, started_at: seconds(startedAt), latency_ms: latencyMs, outcome, status_code: statusCode, error };
}
