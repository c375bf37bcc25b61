import type { ChatMessage, ContentPart, ToolCall } from '@sluice/shared';
import type { InputItem } from './request-schema.ts';
import type { OutputItem } from './response-events.ts';

type Item = Exclude<InputItem, { type: 'item_reference' }>;
type InputPart = Extract<Item, { type: 'function_call_output' }>['output'][number];
type AssistantMessage = Extract<ChatMessage, { role: 'assistant' }>;

function toChatPart(part: InputPart): ContentPart {
  if (part.type === 'input_text') return { type: 'text', text: part.text };
  return { type: 'image_url', image_url: { url: part.image_url, ...(part.detail != null && part.detail !== 'original' ? { detail: part.detail } : {}) } };
}

/** Parts as chat content: one text part is plain text (every provider type takes that), anything else stays parts. */
function toChatContent(parts: readonly InputPart[]): string | ContentPart[] {
  const [only] = parts;
  if (parts.length === 1 && only?.type === 'input_text') return only.text;
  return parts.map(toChatPart);
}

/** An earlier assistant turn: its text parts joined, its refusal kept as the refusal. */
function assistantMessage(item: Extract<Item, { role: 'assistant' }>): AssistantMessage {
  let text: string | null = null;
  let refusal: string | null = null;
  for (const part of item.content) {
    if (part.type === 'output_text') text = (text ?? '') + part.text;
    else refusal = (refusal ?? '') + part.refusal;
  }
  return { role: 'assistant', content: text, ...(refusal !== null ? { refusal } : {}) };
}

/**
 * Input items (item references already resolved) as chat messages, in order: messages keep their
 * role; a `function_call` joins the assistant message just before it as a tool call (consecutive
 * calls become one assistant turn, as chat wants them); a `function_call_output` is a `tool` message.
 */
export function toChatMessages(items: readonly Item[]): ChatMessage[] {
  const messages: ChatMessage[] = [];
  for (const item of items) {
    if (item.type === 'function_call') {
      const call: ToolCall = { id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } };
      const last = messages.at(-1);
      if (last?.role === 'assistant') last.tool_calls = [...(last.tool_calls ?? []), call];
      else messages.push({ role: 'assistant', content: null, tool_calls: [call] });
    } else if (item.type === 'function_call_output') {
      messages.push({ role: 'tool', tool_call_id: item.call_id, content: toChatContent(item.output) });
    } else if (item.role === 'assistant') {
      messages.push(assistantMessage(item));
    } else {
      messages.push({ role: item.role, content: toChatContent(item.content) });
    }
  }
  return messages;
}

/** An output item of an earlier response as the input item that stands for it. */
export function outputAsInput(item: OutputItem): Item {
  if (item.type === 'function_call') return { type: 'function_call', call_id: item.call_id, name: item.name, arguments: item.arguments };
  return { type: 'message', role: 'assistant', content: item.content.map((part) => ({ ...part })) };
}
