import { pieces, sseFrame, type FakeVendorStreamPlan, type StreamFormat, type StreamFrames, type StreamRequest } from './fake-sse-stream.ts';

const PROMPT_TOKENS = 9;
const CANDIDATES_TOKENS = 12;

/** Gemini's answer when the model is overloaded, sent as an event after the 200 (its HTTP twin is a 503). */
export const GEMINI_OVERLOADED_EVENT = { error: { code: 503, message: 'The model is overloaded. Please try again later.', status: 'UNAVAILABLE' } };

/**
 * Gemini's `models/{model}:streamGenerateContent?alt=sse`, answered with `data:` frames, each a
 * whole GenerateContentResponse: one per text piece, one per function call (Gemini sends calls
 * whole), the last with the finish reason. Usage counts are running totals on every event.
 */
export const geminiStreamFormat: StreamFormat = {
  matches(request: StreamRequest) {
    return request.method === 'POST' && request.path.includes(':streamGenerateContent');
  },
  build(request: StreamRequest, plan: FakeVendorStreamPlan, text: string): StreamFrames {
    const model = /models\/([^:]+):/.exec(request.path)?.[1] ?? 'unknown';
    const parts: Record<string, unknown>[] = [
      ...pieces(text).map((piece) => ({ text: piece })),
      ...(plan.toolCalls ?? []).map((call) => ({ functionCall: { name: call.name, args: call.arguments } })),
    ];
    const answer = (at: number, part: Record<string, unknown>, finishReason?: string): string => {
      const candidatesTokenCount = Math.round((CANDIDATES_TOKENS * (at + 1)) / Math.max(1, parts.length));
      const candidate = { content: { parts: [part], role: 'model' }, index: 0, ...(finishReason === undefined ? {} : { finishReason }) };
      const usageMetadata = { promptTokenCount: PROMPT_TOKENS, candidatesTokenCount, totalTokenCount: PROMPT_TOKENS + candidatesTokenCount };
      return sseFrame({ candidates: [candidate], usageMetadata, modelVersion: model, responseId: `fake${request.receivedAt}` });
    };
    return {
      head: [],
      deltas: parts.map((part, at) => answer(at, part)),
      // The finish comes on an event of its own with an empty text part, as the API often sends it.
      tail: [answer(parts.length - 1, { text: '' }, plan.stop === 'max_tokens' ? 'MAX_TOKENS' : 'STOP')],
      error: sseFrame(plan.error ?? GEMINI_OVERLOADED_EVENT),
    };
  },
};
