import { z } from 'zod';
import type { Usage } from '@sluice/shared';
import { deltaChunk, malformedStream, usageChunk, type StreamChunk, type StreamEnd, type StreamFailure, type StreamIdentity, type StreamStep } from '../stream-chunk.ts';
import { fromGeminiUsage, mapFinishReason } from './convert-response.ts';
import { GeminiResponseFieldsSchema } from './wire-schemas.ts';

/** An error sent as a stream event, after the 200: the same object an HTTP error answer carries. */
const StreamErrorSchema = z.object({ error: z.object({ code: z.number().int().optional(), status: z.string().optional(), message: z.string().optional() }).loose() }).loose();

type StreamEvent = z.infer<typeof GeminiResponseFieldsSchema>;

/** `model` is the one requested (the answer's `modelVersion` wins, as in a non-streamed answer); `id` and `created` default to the answer's id and now. */
export interface GeminiStreamOptions {
  model: string;
  id?: string;
  created?: number;
}

/** Converts one `streamGenerateContent?alt=sse` stream, event by event, into `chat.completion.chunk`s. */
export interface GeminiStreamConverter {
  /** The chunks one event (the JSON of its `data:` line) yields; an error event, or an unreadable one, also yields the failure that ends the stream. */
  push(data: unknown): StreamStep;
  /**
   * Call when the byte stream ends (Gemini sends no end event): complete if a finish reason (or a
   * blocked prompt) came and no failure did; then `chunks` is the usage chunk, from the last
   * `usageMetadata` (each event's counts are running totals).
   */
  end(): StreamEnd;
}

/** An error event as the failure an HTTP answer with the same error would be; a code outside 400–599 is a server error. */
export function geminiStreamFailure(data: z.infer<typeof StreamErrorSchema>): StreamFailure {
  const code = data.error.code;
  const status = code !== undefined && code >= 400 && code <= 599 ? code : 500;
  const message = `${data.error.status ?? status}: ${data.error.message ?? 'error event'}`;
  return { status, headers: {}, body: JSON.stringify(data), message };
}

interface State {
  identity: StreamIdentity | null;
  usage: Usage | null;
  toolCalls: number;
  finished: boolean;
  failed: boolean;
}

/**
 * A stateful converter for one Gemini stream. Text parts become `content` (thoughts are left out),
 * each function call (Gemini sends them whole) one complete tool-call delta with the id
 * `fromGeminiResponse` gives it; finish reasons and usage map as that function maps them.
 */
export function createGeminiStreamConverter(options: GeminiStreamOptions): GeminiStreamConverter {
  const state: State = { identity: null, usage: null, toolCalls: 0, finished: false, failed: false };
  return {
    push(data) {
      if (state.failed) return { chunks: [] };
      const parsed = GeminiResponseFieldsSchema.safeParse(data);
      const failure = readFailure(data, parsed.success);
      if (failure !== null) {
        state.failed = true;
        return { chunks: [], failure };
      }
      return parsed.success ? { chunks: convertEvent(state, options, parsed.data) } : { chunks: [] };
    },
    end() {
      const complete = state.finished && !state.failed;
      const identity = state.identity;
      return { complete, chunks: complete && identity !== null && state.usage !== null ? [usageChunk(identity, state.usage)] : [] };
    },
  };
}

/** The failure an event is: an error object, or something that is not an answer at all; null for an answer. */
function readFailure(data: unknown, readable: boolean): StreamFailure | null {
  const error = StreamErrorSchema.safeParse(data);
  if (error.success) return geminiStreamFailure(error.data);
  return readable ? null : malformedStream('unreadable event');
}

function convertEvent(state: State, options: GeminiStreamOptions, event: StreamEvent): StreamChunk[] {
  const chunks: StreamChunk[] = [];
  if (state.identity === null) {
    const id = options.id ?? event.responseId ?? `gemini-${Date.now().toString(36)}`;
    state.identity = { id, model: event.modelVersion ?? options.model, created: options.created ?? Math.floor(Date.now() / 1000) };
    chunks.push(deltaChunk(state.identity, { role: 'assistant', content: '' }));
  }
  const identity = state.identity;
  if (event.usageMetadata) state.usage = fromGeminiUsage(event.usageMetadata);
  if (state.finished) return chunks;
  const candidate = event.candidates?.[0];
  if (candidate === undefined) {
    // A prompt blocked before any candidate is a content_filter finish, as in a non-streamed answer.
    if (event.promptFeedback?.blockReason === undefined) return chunks;
    state.finished = true;
    return [...chunks, deltaChunk(identity, {}, 'content_filter')];
  }
  for (const part of candidate.content?.parts ?? []) {
    if (typeof part.text === 'string' && part.text !== '' && part.thought !== true) chunks.push(deltaChunk(identity, { content: part.text }));
    if (part.functionCall) {
      const index = state.toolCalls++;
      const { name, args } = part.functionCall;
      const call = { index, id: `call_${index}_${name}`, type: 'function' as const, function: { name, arguments: JSON.stringify(args ?? {}) } };
      chunks.push(deltaChunk(identity, { tool_calls: [call] }));
    }
  }
  const finish = mapFinishReason(candidate.finishReason, state.toolCalls > 0);
  if (finish !== null) {
    state.finished = true;
    chunks.push(deltaChunk(identity, {}, finish));
  }
  return chunks;
}
