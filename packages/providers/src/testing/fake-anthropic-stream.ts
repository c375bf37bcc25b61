import { pieces, sseFrame, type FakeVendorStreamPlan, type StreamFormat, type StreamFrames, type StreamRequest } from './fake-sse-stream.ts';

/** The input and output token counts the stream reports (the non-streamed echo's). */
const INPUT_TOKENS = 9;
const OUTPUT_TOKENS = 12;

/** Anthropic's answer when it is overloaded, sent as an event after the 200 (its HTTP twin is a 529). */
export const ANTHROPIC_OVERLOADED_EVENT = { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } };

const event = (type: string, data: Record<string, unknown> = {}): string => sseFrame({ type, ...data }, type);

/** One content block's frames: its start, its deltas, its stop. */
function block(index: number, start: Record<string, unknown>, deltas: Record<string, unknown>[]): { open: string; deltas: string[]; close: string } {
  return {
    open: event('content_block_start', { index, content_block: start }),
    deltas: deltas.map((delta) => event('content_block_delta', { index, delta })),
    close: event('content_block_stop', { index }),
  };
}

/**
 * The content blocks of a plan: one text block (when there is text), then one tool_use block per
 * call, its JSON arguments split in two fragments as the API splits them. Each block's start and
 * stop ride with its first and last delta, so cutting after a delta leaves the block open.
 */
function blocks(plan: FakeVendorStreamPlan, text: string, receivedAt: number): string[] {
  const out: string[] = [];
  const all = [
    ...(text === '' ? [] : [block(0, { type: 'text', text: '' }, pieces(text).map((piece) => ({ type: 'text_delta', text: piece })))]),
    ...(plan.toolCalls ?? []).map((call, at) => {
      const json = JSON.stringify(call.arguments);
      const start = { type: 'tool_use', id: `toolu_fake${receivedAt}_${at}`, name: call.name, input: {} };
      return block(at + (text === '' ? 0 : 1), start, pieces(json, 2).map((piece) => ({ type: 'input_json_delta', partial_json: piece })));
    }),
  ];
  for (const { open, deltas, close } of all) {
    const frames = deltas.length === 0 ? [''] : [...deltas];
    frames[0] = open + frames[0];
    frames[frames.length - 1] += close;
    out.push(...frames);
  }
  return out;
}

/** Anthropic's `POST /v1/messages` with `stream: true`, answered with `event:` + `data:` frames. */
export const anthropicStreamFormat: StreamFormat = {
  matches(request: StreamRequest) {
    const body = request.body as { stream?: unknown } | null;
    return request.method === 'POST' && request.path.split('?')[0] === '/v1/messages' && body?.stream === true;
  },
  build(request: StreamRequest, plan: FakeVendorStreamPlan, text: string): StreamFrames {
    const model = (request.body as { model?: unknown }).model;
    const message = {
      id: `msg_fake${request.receivedAt}`,
      type: 'message',
      role: 'assistant',
      content: [],
      model: typeof model === 'string' ? model : 'unknown',
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: INPUT_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
    };
    const stopReason = plan.stop === 'max_tokens' ? 'max_tokens' : (plan.toolCalls ?? []).length > 0 ? 'tool_use' : 'end_turn';
    return {
      head: [event('message_start', { message }), event('ping')],
      deltas: blocks(plan, text, request.receivedAt),
      tail: [event('message_delta', { delta: { stop_reason: stopReason, stop_sequence: null }, usage: { output_tokens: OUTPUT_TOKENS } }), event('message_stop')],
      error: sseFrame(plan.error ?? ANTHROPIC_OVERLOADED_EVENT, 'error'),
    };
  },
};
