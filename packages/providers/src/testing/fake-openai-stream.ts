import type { FakeSseEvent, FakeStream } from './fake-stream.ts';
import { lastUserText, type FakeReply, type RecordedRequest } from './fake-provider-server.ts';

/** How an OpenAI-format stream goes; every field is optional: the default echoes like the JSON reply. */
export interface OpenAIStreamScript {
  /** The text streamed in several chunks. Default `fake: <last user text>`, as the JSON echo answers. */
  text?: string;
  /** Streams a call to this tool instead of text: id and name first, the arguments in pieces. */
  toolCall?: { name: string; arguments: string };
  /** After this many content chunks: OpenAI's mid-stream error event, then `[DONE]`. */
  errorAfter?: number;
  /** After this many content chunks the body ends, without a finish chunk or `[DONE]`. */
  cutAfter?: number;
  /** After this many content chunks nothing more is sent; the connection stays open. */
  stallAfter?: number;
  /** Wait before each event after the first. */
  intervalMs?: number;
}

/** Usage the fake reports, the JSON echo's. */
export const FAKE_STREAM_USAGE = { prompt_tokens: 9, completion_tokens: 12, total_tokens: 21 };

/** OpenAI's observed mid-stream failure: an error object as a `data:` event after a 200. */
export const OPENAI_STREAM_ERROR = { error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } };

/** `text` in about `count` pieces, never splitting a character. */
function pieces(text: string, count: number): string[] {
  const chars = Array.from(text);
  const size = Math.max(1, Math.ceil(chars.length / count));
  const out: string[] = [];
  for (let i = 0; i < chars.length; i += size) out.push(chars.slice(i, i + size).join(''));
  return out.length > 0 ? out : [''];
}

type Delta = Record<string, unknown>;

function contentDeltas(script: OpenAIStreamScript, request: RecordedRequest): Delta[] {
  if (script.toolCall) {
    const { name, arguments: args } = script.toolCall;
    const first = { role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_fake1', type: 'function', function: { name, arguments: '' } }] };
    return [first, ...pieces(args, 3).map((part) => ({ tool_calls: [{ index: 0, function: { arguments: part } }] }))];
  }
  const [head = '', ...rest] = pieces(script.text ?? `fake: ${lastUserText(request)}`, 4);
  return [{ role: 'assistant', content: head, refusal: null }, ...rest.map((content) => ({ content }))];
}

/** A chat.completion.chunk stream in OpenAI's documented framing, scripted by `script`. */
export function openAIStream(script: OpenAIStreamScript = {}): (request: RecordedRequest) => FakeStream {
  return (request) => {
    const body = (request.body ?? {}) as { model?: string; stream_options?: { include_usage?: unknown } };
    const base = { id: `chatcmpl-fake${request.receivedAt}`, object: 'chat.completion.chunk', created: Math.floor(request.receivedAt / 1000), model: body.model ?? 'unknown', system_fingerprint: 'fp_fake' };
    const withUsage = body.stream_options?.include_usage === true;
    const chunk = (delta: Delta, finish: string | null): FakeSseEvent => ({ data: { ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], ...(withUsage ? { usage: null } : {}) } });
    const content = contentDeltas(script, request).map((delta) => chunk(delta, null));
    const stopAt = script.errorAfter ?? script.cutAfter ?? script.stallAfter;
    const events = content.slice(0, stopAt);
    const intervalMs = script.intervalMs ?? 0;
    if (script.errorAfter !== undefined) return { events: [...events, { data: OPENAI_STREAM_ERROR }, { data: '[DONE]' }], intervalMs };
    if (script.cutAfter !== undefined) return { events, intervalMs };
    if (script.stallAfter !== undefined) return { events, intervalMs, hang: true };
    events.push(chunk({}, script.toolCall ? 'tool_calls' : 'stop'));
    if (withUsage) events.push({ data: { ...base, choices: [], usage: FAKE_STREAM_USAGE } });
    return { events: [...events, { data: '[DONE]' }], intervalMs };
  };
}

/** The stream contract's scripts for the OpenAI format (`StreamScripts`). */
export const openAIStreamScripts = {
  toolCall: (name: string, args: string): FakeReply => ({ stream: openAIStream({ toolCall: { name, arguments: args } }) }),
  errorMidStream: (): FakeReply => ({ stream: openAIStream({ errorAfter: 2 }) }),
  cut: (): FakeReply => ({ stream: openAIStream({ cutAfter: 2 }) }),
  stall: (): FakeReply => ({ stream: openAIStream({ stallAfter: 1 }) }),
};
