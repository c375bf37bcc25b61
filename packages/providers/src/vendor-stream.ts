import type { ChatCompletionChunk } from '@sluice/shared';
import { classifyHttpError, type RequestRefusalTest } from './http/classify-error.ts';
import { interruptedError } from './http/stream-call.ts';
import { ProviderError } from './provider-error.ts';
import type { StreamEnd, StreamStep } from './stream-chunk.ts';
import type { SseEvent } from './http/sse.ts';

/** A converter of one vendor's stream events into chunks (see anthropic/ and gemini/ convert-stream.ts). */
export interface StreamConverter {
  push(event: SseEvent): StreamStep;
  end(): StreamEnd;
}

/**
 * Chunks from a vendor's server-sent events (a network read's worth at a time) through its
 * converter: a failure event is classified like the same error answered over HTTP; a stream that
 * ends before the vendor's end is a retryable error. A failure after the first chunk is the
 * interrupted error (`markInterruptions`, inline to save a generator per chunk).
 */
export async function* convertVendorStream(provider: string, batches: AsyncIterable<SseEvent[]>, converter: StreamConverter, refusesRequest: RequestRefusalTest): AsyncGenerator<ChatCompletionChunk> {
  let started = false;
  try {
    for await (const events of batches) {
      for (const event of events) {
        const step = converter.push(event);
        for (const chunk of step.chunks) {
          started = true;
          yield chunk as ChatCompletionChunk;
        }
        if (step.failure) throw classifyHttpError(provider, step.failure, refusesRequest);
      }
    }
    const end = converter.end();
    for (const chunk of end.chunks) {
      started = true;
      yield chunk as ChatCompletionChunk;
    }
    if (!end.complete) throw new ProviderError(`${provider}: stream ended before its end event`, { kind: 'retryable', provider, status: 200 });
  } catch (error) {
    throw started ? interruptedError(provider, error) : error;
  }
}

/** An event's data as JSON; what cannot be read is passed on as text, for the converter to refuse. */
export function parseEventData(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    return data;
  }
}
