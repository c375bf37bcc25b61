import { ProviderError, type CallOptions, type CompletionResult, type ProviderAdapter } from '@sluice/providers';
import { assembleCompletion, completionChunks, getMetrics, isCluster, type ChatCompletion, type ChatCompletionChunk, type ChatRequest } from '@sluice/shared';
import { jobStreamKey, streamedChunks, WORKER_STOPPED, type DeltaWriter, type Engine, type JobRecord } from '@sluice/engine';

/** A streamed call's end: the whole completion, or the error with what had been sent before it. */
export type StreamedAnswer = { ok: true; answer: CompletionResult } | { ok: false; error: unknown; partial: ChatCompletion | null };

/**
 * Calls the provider in streaming mode and hands each chunk to `writer` (the job's output stream)
 * as it comes; the chunks joined are the job's completion. A provider type that does not stream
 * answers whole, and its answer goes out as chunks at once. `firstChunk` is told when the first
 * chunk arrives (time to first token). Never throws: an error (a stream that ended without a
 * chunk is one) comes back with what had been sent.
 */
export async function streamCall(
  adapter: ProviderAdapter, request: ChatRequest, options: CallOptions, writer: DeltaWriter, firstChunk: () => void,
): Promise<StreamedAnswer> {
  if (adapter.stream === undefined) {
    try {
      const answer = await adapter.complete(request, options);
      firstChunk();
      for (const chunk of completionChunks(answer.completion)) writer.push(chunk);
      return { ok: true, answer };
    } catch (error) {
      return { ok: false, error, partial: null };
    }
  }
  const chunks: ChatCompletionChunk[] = [];
  const open = getMetrics().streamsOpen.labels({ side: 'provider' });
  open.inc();
  try {
    for await (const chunk of adapter.stream(request, options)) {
      chunks.push(chunk);
      writer.push(chunk); // first: its write leaves before anything `firstChunk` sends
      if (chunks.length === 1) firstChunk();
      // The job's stream cannot take more: stop reading the provider (the caller's flush reports it).
      if (writer.failed) break;
    }
    return { ok: true, answer: { completion: assembleCompletion(chunks), statusCode: 200 } };
  } catch (error) {
    return { ok: false, error, partial: chunks.length === 0 ? null : assembleCompletion(chunks) };
  } finally {
    open.dec();
  }
}


/** What ending a stream that its worker lost reads and writes. */
export type StartedStreamDeps = Pick<Engine, 'config' | 'redis' | 'lifecycle' | 'price'>;

/**
 * A streamed job whose run ended outside the provider call (its worker died, or the entry failed on
 * an error of ours) after chunks had gone to its client: it cannot run again (the client would get
 * a second answer after the first), so it ends as an interrupted stream with what was sent, billed
 * by estimate. Returns false, doing nothing, when no chunk went out (the job may run again).
 */
export async function endStartedStream(deps: StartedStreamDeps, record: JobRecord, why: string, log: Record<string, unknown>): Promise<boolean> {
  const candidate = record.routing.candidates[record.target];
  const provider = candidate === undefined ? undefined : deps.config.providers[candidate.provider];
  if (record.stream === null || candidate === undefined || provider === undefined) return false;
  const sent = await streamedChunks(deps.redis, jobStreamKey(deps.config.redis.prefix, record.id, isCluster(deps.redis)));
  if (sent.length === 0) return false;
  const since = record.running_since ?? Date.now();
  const error = new ProviderError(`${candidate.provider}: ${why}`, { kind: 'retryable', provider: candidate.provider, status: null, afterFirstChunk: true, code: WORKER_STOPPED });
  await deps.lifecycle.settle(
    {
      record, entry: record.queue_job_id, candidate, retry: provider.retry, startedAt: since, latencyMs: Date.now() - since, price: deps.price, log,
      mode: record.execution?.mode === 'flex' ? 'flex' : 'realtime', onCircuitOpened: () => undefined,
    },
    { ok: false, error, partial: assembleCompletion(sent) },
  );
  return true;
}
