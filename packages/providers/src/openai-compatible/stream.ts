import type { ChatCompletionChunk, ChatRequest } from '@sluice/shared';
import type { RequestRefusalTest } from '../http/classify-error.ts';
import type { HttpClient } from '../http/http-client.ts';
import { interruptedError, openEventBatches } from '../http/stream-call.ts';
import type { CallOptions } from '../provider-adapter.ts';
import { normalizeChunk, streamErrorEvent } from './normalize-chunk.ts';

export interface OpenAIStreamContext {
  http: HttpClient;
  provider: string;
  headers: Record<string, string>;
  refusesRequest: RequestRefusalTest;
  timeoutMs: number | undefined;
}

const DONE = '[DONE]';

/** The request's params with streaming on and usage asked for: without it a stream's cost is unknown. */
function streamBody(request: ChatRequest): Record<string, unknown> {
  const asked = request.params.stream_options;
  const streamOptions = typeof asked === 'object' && asked !== null && !Array.isArray(asked) ? asked : {};
  return { ...request.params, model: request.model, messages: request.messages, stream: true, stream_options: { ...streamOptions, include_usage: true } };
}

/**
 * `ProviderAdapter.stream` for the OpenAI chat-completions wire format. The events of a network read
 * come together, so each chunk costs one async hand-over (here); a failure after the first chunk
 * is the interrupted error (`markInterruptions`, inline to save a generator per chunk).
 */
export async function* streamOpenAI(context: OpenAIStreamContext, request: ChatRequest, call: CallOptions = {}): AsyncGenerator<ChatCompletionChunk> {
  const { provider } = context;
  const batches = openEventBatches(context.http, provider, '/chat/completions', {
    body: streamBody(request),
    headers: { ...context.headers, ...call.headers, accept: 'text/event-stream' },
    signal: call.signal,
    refusesRequest: context.refusesRequest,
    timeoutMs: context.timeoutMs,
    end: { name: DONE, test: (event) => event.data === DONE },
  });
  const now = Date.now();
  const defaults = { id: `chatcmpl-${now.toString(36)}`, created: Math.floor(now / 1000), model: request.model };
  let started = false;
  try {
    for await (const events of batches) {
      for (const event of events) {
        // Some servers name the event instead of (or as well as) sending an error object: either fails it.
        if (event.event === 'error') throw streamErrorEvent(provider, event.data);
        const chunk = normalizeChunk(provider, event.data, defaults);
        started = true;
        yield chunk;
      }
    }
  } catch (error) {
    throw started ? interruptedError(provider, error) : error;
  }
}
