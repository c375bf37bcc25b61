import type { ChatCompletionChunk } from '@sluice/shared';
import { classifyHttpError, type RequestRefusalTest } from './http/classify-error.ts';
import { ProviderError } from './provider-error.ts';
import type { StreamEnd, StreamStep } from './stream-chunk.ts';
import type { SseEvent } from './http/sse.ts';

/** A converter of one vendor's stream events into chunks (see anthropic/ and gemini/ convert-stream.ts). */
export interface StreamConverter {
  push(event: SseEvent): StreamStep;
  end(): StreamEnd;
}

/**
 * Chunks from a vendor's server-sent events through its converter: a failure event is classified like
 * the same error answered over HTTP; a stream that ends before the vendor's end is a retryable error.
 */
export async function* convertVendorStream(provider: string, events: AsyncIterable<SseEvent>, converter: StreamConverter, refusesRequest: RequestRefusalTest): AsyncGenerator<ChatCompletionChunk> {
  const emit = function* (step: StreamStep): Generator<ChatCompletionChunk> {
    for (const chunk of step.chunks) yield chunk as ChatCompletionChunk;
    if (step.failure) throw classifyHttpError(provider, step.failure, refusesRequest);
  };
  for await (const event of events) yield* emit(converter.push(event));
  const end = converter.end();
  for (const chunk of end.chunks) yield chunk as ChatCompletionChunk;
  if (!end.complete) throw new ProviderError(`${provider}: stream ended before its end event`, { kind: 'retryable', provider, status: 200 });
}

/** An event's data as JSON; what cannot be read is passed on as text, for the converter to refuse. */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
