// Loaded only when tracing is on (see `worker-runtime.ts`); the rest of the worker imports its types.
import { genAiProviderName, type BatchLineResult, type CompletionResult, type EmbeddingResult, type ProviderError } from '@sluice/providers';
import { ATTR_HTTP_RESPONSE_STATUS_CODE } from '@opentelemetry/semantic-conventions';
import { SLUICE_ATTRIBUTES, type GatewayConfig, type ProviderConfig, type Span, type Tracing } from '@sluice/shared';
import { attemptOutcomeOf, type ExecutionMode, type JobRecord, type NextStep, type RoutingCandidate } from '@sluice/engine';
import { answerAttributes, firstChunkAttributes, operationOf, requestAttributes } from './gen-ai-attributes.ts';
import { createDeliverySpans, type DeliverySpans } from './delivery-spans.ts';
import { createProviderBatchSpans, type ProviderBatchSpans } from './provider-batch-spans.ts';

/** How a provider call ended, as its span tells it: the answer, the classified error, or (a batch line that never ran) why not. */
export type CallResult = { ok: true; answer: CompletionResult | EmbeddingResult } | { ok: false; error: ProviderError } | { ok: false; error: null; code: string };

/** One provider call of a job: whom it went to, how, and which of the job's calls it is. */
export interface CallFacts {
  record: JobRecord;
  candidate: RoutingCandidate;
  provider: ProviderConfig;
  mode: ExecutionMode;
  /** Unix ms. Default now. */
  startTime?: number;
  /** A provider batch's result: the poll that read it. */
  readBy?: Span;
}

/** The span of one provider call (`chat <model>`, CLIENT), a child of the job's request span. */
export interface CallSpan {
  readonly spanId: string;
  /** What the provider request carries: this span's trace context. */
  headers(): Record<string, string>;
  /** The answer or the error, and what the job did next (null: nothing, the job had moved on). */
  settled(result: CallResult, next: NextStep | null, firstChunkMs?: number | null): void;
  /**
   * Ends the span at `at` (epoch ms: when the provider call ended, so the span is the call, not the
   * writes that settle it), or now (once; a call that threw before settling ends here too).
   */
  end(at?: number): void;
}

/** A queue entry's wait: from when it was added to when a worker claimed it. */
export interface QueueEntry {
  queue: string;
  id: string;
  /** Unix ms. */
  addedAt: number;
}

/** The spans the worker makes: null in its parts when tracing is off. */
export interface WorkerSpans extends DeliverySpans, ProviderBatchSpans {
  /** `queue wait` (INTERNAL), a child of the job's request span, from the entry's add to its claim. */
  queueWait(record: JobRecord, entry: QueueEntry, claimedAt: number): void;
  call(facts: CallFacts): CallSpan;
  /** A provider batch's result line, as a call of its job read by the poll `poll`. */
  batchLine(record: JobRecord, line: BatchLineResult, next: NextStep | null, poll: Span): void;
}

/** The attributes every span of a job carries. */
const jobAttributes = (record: JobRecord) => ({ [SLUICE_ATTRIBUTES.jobId]: record.id, [SLUICE_ATTRIBUTES.tenant]: record.tenant, [SLUICE_ATTRIBUTES.route]: record.routing.route });

function callSpan(tracing: Tracing, facts: CallFacts): CallSpan {
  const { record, candidate, provider } = facts;
  const span = tracing.startSpan(`${operationOf(record)} ${candidate.model}`, {
    kind: 'client',
    parent: record.trace,
    ...(facts.startTime === undefined ? {} : { startTime: facts.startTime }),
    ...(facts.readBy === undefined ? {} : { links: [facts.readBy.context()] }),
    attributes: {
      ...requestAttributes({ record, vendor: genAiProviderName(candidate.provider, provider), model: candidate.model, baseUrl: provider.base_url, content: tracing.logContent }),
      ...jobAttributes(record),
      [SLUICE_ATTRIBUTES.provider]: candidate.provider,
      [SLUICE_ATTRIBUTES.attempt]: record.attempts.length + 1,
      [SLUICE_ATTRIBUTES.executionMode]: facts.mode,
    },
  });
  return {
    spanId: span.spanId,
    headers: () => span.headers(),
    settled(result, next, firstChunkMs = null) {
      span.setAttributes(firstChunkAttributes(firstChunkMs));
      if (result.ok) span.setAttributes({ ...answerAttributes(result.answer, tracing.logContent), [SLUICE_ATTRIBUTES.outcome]: 'succeeded' });
      else if (result.error === null) span.fail(result.code);
      else fail(span, result.error);
      if (next !== null) recordNext(span, next);
    },
    end: (at) => span.end(at),
  };
}

/** The error's code, kind and status only: its message may quote the provider's body, and that the prompt. */
function fail(span: Span, error: ProviderError): void {
  span.setAttributes({ [SLUICE_ATTRIBUTES.outcome]: attemptOutcomeOf(error), [ATTR_HTTP_RESPONSE_STATUS_CODE]: error.status ?? undefined });
  span.fail(error.code, error.status === null ? error.kind : `${error.kind} (HTTP ${error.status})`);
}

function recordNext(span: Span, next: NextStep): void {
  span.setAttributes({
    [SLUICE_ATTRIBUTES.next]: next.step,
    [SLUICE_ATTRIBUTES.nextReason]: next.reason ?? undefined,
    [SLUICE_ATTRIBUTES.failoverReason]: next.step === 'failover' ? (next.reason ?? undefined) : undefined,
    [SLUICE_ATTRIBUTES.costUsd]: next.costUsd ?? undefined,
  });
}

/** The result a batch line stands for: an answer, an error, or a line that never ran (its batch expired or was canceled). */
function lineResult(line: BatchLineResult): CallResult {
  if (line.outcome === 'succeeded') return { ok: true, answer: line.result };
  if (line.outcome === 'errored') return { ok: false, error: line.error };
  return { ok: false, error: null, code: line.outcome === 'expired' ? 'batch_expired' : 'canceled_batch' };
}

export function createWorkerSpans(tracing: Tracing, config: GatewayConfig): WorkerSpans {
  return {
    queueWait(record, entry, claimedAt) {
      tracing
        .startSpan('queue wait', {
          kind: 'internal',
          parent: record.trace,
          startTime: entry.addedAt,
          attributes: { ...jobAttributes(record), [SLUICE_ATTRIBUTES.queue]: entry.queue, [SLUICE_ATTRIBUTES.entry]: entry.id },
        })
        .end(claimedAt);
    },
    call: (facts) => callSpan(tracing, facts),
    batchLine(record, line, next, poll) {
      const candidate = record.routing.candidates[record.target];
      const provider = candidate === undefined ? undefined : config.providers[candidate.provider];
      if (candidate === undefined || provider === undefined) return;
      const startTime = (record.execution?.submitted_at ?? Math.floor(Date.now() / 1000)) * 1000;
      const span = callSpan(tracing, { record, candidate, provider, mode: 'provider_batch', startTime, readBy: poll });
      span.settled(lineResult(line), next);
      span.end();
    },
    ...createDeliverySpans(tracing),
    ...createProviderBatchSpans(tracing, config),
  };
}
