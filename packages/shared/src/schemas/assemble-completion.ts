import type { ChatCompletion, ChatCompletionChunk, ToolCall, ToolCallDelta } from './chat.ts';

type Choice = ChatCompletion['choices'][number];

interface ChoiceParts {
  index: number;
  content: string | null;
  refusal: string | null;
  /** Keyed by the delta's `index`, not by position: providers may interleave calls. */
  calls: Map<number, ToolCall>;
  finish: Choice['finish_reason'];
  /** OpenAI streams `logprobs.content` (and `.refusal`) token by token: the arrays are joined. */
  logprobs: { content: unknown[]; refusal: unknown[] } | null;
}

function addToolCall(calls: Map<number, ToolCall>, delta: ToolCallDelta): void {
  const call = calls.get(delta.index) ?? { id: '', type: 'function', function: { name: '', arguments: '' } };
  if (delta.id) call.id = delta.id;
  if (delta.type) call.type = delta.type;
  // The name is replaced, the arguments appended: ids and names come once, arguments in pieces.
  if (delta.function?.name) call.function.name = delta.function.name;
  if (delta.function?.arguments) call.function.arguments += delta.function.arguments;
  calls.set(delta.index, call);
}

function addChoice(parts: ChoiceParts, choice: ChatCompletionChunk['choices'][number]): void {
  const { delta } = choice;
  if (typeof delta.content === 'string') parts.content = (parts.content ?? '') + delta.content;
  if (typeof delta.refusal === 'string') parts.refusal = (parts.refusal ?? '') + delta.refusal;
  for (const call of delta.tool_calls ?? []) addToolCall(parts.calls, call);
  if (choice.finish_reason !== null) parts.finish = choice.finish_reason;
  const logprobs = choice.logprobs as { content?: unknown; refusal?: unknown } | null | undefined;
  if (typeof logprobs === 'object' && logprobs !== null) {
    parts.logprobs ??= { content: [], refusal: [] };
    if (Array.isArray(logprobs.content)) parts.logprobs.content.push(...(logprobs.content as unknown[]));
    if (Array.isArray(logprobs.refusal)) parts.logprobs.refusal.push(...(logprobs.refusal as unknown[]));
  }
}

function toChoice(parts: ChoiceParts): Choice {
  const calls = [...parts.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  return {
    index: parts.index,
    message: {
      role: 'assistant',
      content: parts.content,
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
      ...(parts.refusal !== null ? { refusal: parts.refusal } : {}),
    },
    finish_reason: parts.finish,
    ...(parts.logprobs !== null ? { logprobs: parts.logprobs } : {}),
  };
}

/**
 * Joins the chunks of one streamed completion into the `chat.completion` a non-streamed call gives:
 * text and refusals concatenated per choice, tool calls accumulated by their `index`, the last
 * finish reason, and the usage of the usage chunk. Throws on an empty list (there is no id to give).
 */
export function assembleCompletion(chunks: Iterable<ChatCompletionChunk>): ChatCompletion {
  const choices = new Map<number, ChoiceParts>();
  let first: ChatCompletionChunk | undefined;
  let usage: ChatCompletion['usage'];
  let fingerprint: string | null | undefined;
  for (const chunk of chunks) {
    first ??= chunk;
    if (chunk.usage) usage = chunk.usage;
    if (chunk.system_fingerprint !== undefined) fingerprint = chunk.system_fingerprint;
    for (const choice of chunk.choices) {
      const parts = choices.get(choice.index) ?? { index: choice.index, content: null, refusal: null, calls: new Map(), finish: null, logprobs: null };
      addChoice(parts, choice);
      choices.set(choice.index, parts);
    }
  }
  if (!first) throw new Error('assembleCompletion: no chunks');
  return {
    id: first.id,
    object: 'chat.completion',
    created: first.created,
    model: first.model,
    choices: [...choices.values()].sort((a, b) => a.index - b.index).map(toChoice),
    ...(usage ? { usage } : {}),
    ...(fingerprint !== undefined ? { system_fingerprint: fingerprint } : {}),
  };
}

/**
 * The chunks that stream a whole completion (the inverse of `assembleCompletion`): per choice, its
 * text with the role, its tool calls with their whole arguments, then its finish reason; last, the
 * usage chunk when the completion has usage. For an answer that was not generated as a stream.
 */
export function completionChunks(completion: ChatCompletion): ChatCompletionChunk[] {
  const base = { id: completion.id, object: 'chat.completion.chunk' as const, created: completion.created, model: completion.model };
  const fingerprint = completion.system_fingerprint === undefined ? {} : { system_fingerprint: completion.system_fingerprint };
  const chunks: ChatCompletionChunk[] = [];
  for (const choice of completion.choices) {
    const { message } = choice;
    const refusal = typeof message.refusal === 'string' ? { refusal: message.refusal } : {};
    chunks.push({ ...base, ...fingerprint, choices: [{ index: choice.index, delta: { role: 'assistant', content: message.content, ...refusal }, finish_reason: null }], usage: null });
    const calls = (message.tool_calls ?? []).map((call, index) => ({ index, id: call.id, type: call.type, function: { name: call.function.name, arguments: call.function.arguments } }));
    if (calls.length > 0) chunks.push({ ...base, ...fingerprint, choices: [{ index: choice.index, delta: { tool_calls: calls }, finish_reason: null }], usage: null });
    chunks.push({ ...base, ...fingerprint, choices: [{ index: choice.index, delta: {}, finish_reason: choice.finish_reason }], usage: null });
  }
  if (completion.usage) chunks.push({ ...base, ...fingerprint, choices: [], usage: completion.usage });
  return chunks;
}
