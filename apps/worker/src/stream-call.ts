import { type CallOptions, type CompletionResult, type ProviderAdapter } from '@sluice/providers';
import { assembleCompletion, completionChunks, getMetrics, type ChatCompletion, type ChatCompletionChunk, type ChatRequest } from '@sluice/shared';
import type { DeltaWriter } from '@sluice/engine';

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
      if (chunks.length === 0) firstChunk();
      chunks.push(chunk);
      writer.push(chunk);
    }
    return { ok: true, answer: { completion: assembleCompletion(chunks), statusCode: 200 } };
  } catch (error) {
    return { ok: false, error, partial: chunks.length === 0 ? null : assembleCompletion(chunks) };
  } finally {
    open.dec();
  }
}

