import type { ChatCompletionChunk, ToolCallDelta } from '@sluice/shared';
import { functionCallItemId, messageItemId } from './item-ids.ts';

/** One event of the Responses event stream: its `type`, its place in the stream, and its fields. */
export interface ResponseEvent {
  type: string;
  sequence_number: number;
  [field: string]: unknown;
}

export type ItemStatus = 'in_progress' | 'completed' | 'incomplete';

type OutputPart = { type: 'output_text'; text: string; annotations: unknown[]; logprobs: unknown[] } | { type: 'refusal'; refusal: string };

interface MessageOutputItem {
  id: string;
  type: 'message';
  status: ItemStatus;
  role: 'assistant';
  content: OutputPart[];
}

interface FunctionCallOutputItem {
  id: string;
  type: 'function_call';
  status: ItemStatus;
  call_id: string;
  name: string;
  arguments: string;
}

export type OutputItem = MessageOutputItem | FunctionCallOutputItem;

type PartKind = OutputPart['type'];

/** The message item being written: its place in the output, and its part being written. */
interface OpenMessage {
  item: MessageOutputItem;
  index: number;
  part: OutputPart | null;
}

interface OpenCall {
  item: FunctionCallOutputItem;
  index: number;
}

const emptyPart = (kind: PartKind): OutputPart => (kind === 'output_text' ? { type: 'output_text', text: '', annotations: [], logprobs: [] } : { type: 'refusal', refusal: '' });
const partText = (part: OutputPart): string => (part.type === 'output_text' ? part.text : part.refusal);
const copy = <T>(value: T): T => structuredClone(value);

/**
 * Turns a chat completion's chunks, in order, into the Responses event stream, numbering every
 * event from 0. The events are a function of the chunks alone (retries, statuses and timing change
 * nothing), so every reader of one job's stream, live or replaying it later, gets the same events
 * with the same `sequence_number`s, and a reader resuming after event N gets exactly the rest.
 *
 * Text opens a message item (its `output_text` part; a refusal gets a `refusal` part); each tool
 * call opens a `function_call` item, closing the message before it. Items close at the finish
 * reason, in output order. `output` is the response's output as the events built it.
 */
export class ResponseEventBuilder {
  readonly output: OutputItem[] = [];
  private sequence = 0;
  private message: OpenMessage | null = null;
  /** Function calls by the chat delta's tool-call index; open until the finish reason. */
  private readonly calls = new Map<number, OpenCall>();
  private closed = false;

  constructor(private readonly responseId: string) {}

  /** `response.created` then `response.in_progress`, each with the response as it is at the start. */
  opening(created: unknown, inProgress: unknown): ResponseEvent[] {
    return [this.event('response.created', { response: created }), this.event('response.in_progress', { response: inProgress })];
  }

  /** The events one chunk adds (none for the usage chunk). */
  add(chunk: ChatCompletionChunk): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    const choice = chunk.choices.find((candidate) => candidate.index === 0);
    if (choice === undefined) return events;
    const { delta } = choice;
    if (typeof delta.content === 'string' && delta.content !== '') events.push(...this.addText('output_text', delta.content));
    if (typeof delta.refusal === 'string' && delta.refusal !== '') events.push(...this.addText('refusal', delta.refusal));
    for (const call of delta.tool_calls ?? []) events.push(...this.addCall(call));
    if (choice.finish_reason !== null) events.push(...this.close(choice.finish_reason === 'length' || choice.finish_reason === 'content_filter' ? 'incomplete' : 'completed'));
    return events;
  }

  /**
   * Closes every open item with `status` (a success without a finish chunk closes here); an
   * answer with no item at all gets an empty message, so a finished response always has output.
   */
  close(status: ItemStatus): ResponseEvent[] {
    if (this.closed) return [];
    this.closed = true;
    const events = this.closeMessage(status);
    for (const call of [...this.calls.values()].sort((a, b) => a.index - b.index)) {
      call.item.status = status;
      events.push(this.event('response.function_call_arguments.done', { item_id: call.item.id, output_index: call.index, name: call.item.name, arguments: call.item.arguments }));
      events.push(this.event('response.output_item.done', { output_index: call.index, item: copy(call.item) }));
    }
    this.calls.clear();
    if (this.output.length === 0) events.push(...this.openMessage(), ...this.closeMessage(status));
    return events;
  }

  /** Items still open when the response ended without finishing (failed, cancelled) are incomplete; no event says so but the last. */
  abandon(): void {
    this.closed = true;
    for (const item of this.output) if (item.status === 'in_progress') item.status = 'incomplete';
    this.message = null;
    this.calls.clear();
  }

  /** An `error` event, in both forms: the flat one the spec describes, and with the nested `error` the SDKs raise. */
  error(error: { type: string; code: string; message: string }): ResponseEvent {
    return this.event('error', { code: error.code, message: error.message, param: null, error: { ...error, param: null } });
  }

  /** The terminal event (`response.completed`, `.incomplete` or `.failed`) with the whole response. */
  terminal(type: 'response.completed' | 'response.incomplete' | 'response.failed', response: unknown): ResponseEvent {
    return this.event(type, { response });
  }

  private event(type: string, fields: Record<string, unknown>): ResponseEvent {
    const event = { type, sequence_number: this.sequence, ...fields };
    this.sequence += 1;
    return event;
  }

  private openMessage(): ResponseEvent[] {
    const index = this.output.length;
    const item: MessageOutputItem = { id: messageItemId(this.responseId, index), type: 'message', status: 'in_progress', role: 'assistant', content: [] };
    this.output.push(item);
    this.message = { item, index, part: null };
    return [this.event('response.output_item.added', { output_index: index, item: copy(item) })];
  }

  private addText(kind: PartKind, text: string): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    if (this.closed) return events;
    if (this.message === null) events.push(...this.openMessage());
    const message = this.message as OpenMessage;
    if (message.part?.type !== kind) {
      events.push(...this.closePart(message));
      message.part = emptyPart(kind);
      message.item.content.push(message.part);
      events.push(this.event('response.content_part.added', { ...this.partPlace(message), part: copy(message.part) }));
    }
    const part = message.part as OutputPart;
    if (part.type === 'output_text') {
      part.text += text;
      events.push(this.event('response.output_text.delta', { ...this.partPlace(message), delta: text, logprobs: [] }));
    } else {
      part.refusal += text;
      events.push(this.event('response.refusal.delta', { ...this.partPlace(message), delta: text }));
    }
    return events;
  }

  private partPlace(message: OpenMessage): { item_id: string; output_index: number; content_index: number } {
    return { item_id: message.item.id, output_index: message.index, content_index: message.item.content.length - 1 };
  }

  private closePart(message: OpenMessage): ResponseEvent[] {
    const part = message.part;
    if (part === null) return [];
    message.part = null;
    const place = { item_id: message.item.id, output_index: message.index, content_index: message.item.content.indexOf(part) };
    const done = part.type === 'output_text'
      ? this.event('response.output_text.done', { ...place, text: partText(part), logprobs: [] })
      : this.event('response.refusal.done', { ...place, refusal: partText(part) });
    return [done, this.event('response.content_part.done', { ...place, part: copy(part) })];
  }

  private closeMessage(status: ItemStatus): ResponseEvent[] {
    const message = this.message;
    if (message === null) return [];
    this.message = null;
    const events = this.closePart(message);
    message.item.status = status;
    events.push(this.event('response.output_item.done', { output_index: message.index, item: copy(message.item) }));
    return events;
  }

  private addCall(delta: ToolCallDelta): ResponseEvent[] {
    const events: ResponseEvent[] = [];
    if (this.closed) return events;
    let call = this.calls.get(delta.index);
    if (call === undefined) {
      // A call ends the message before it: text after it opens a new one.
      events.push(...this.closeMessage('completed'));
      const index = this.output.length;
      const item: FunctionCallOutputItem = { id: functionCallItemId(this.responseId, index), type: 'function_call', status: 'in_progress', call_id: delta.id ?? '', name: delta.function?.name ?? '', arguments: '' };
      this.output.push(item);
      call = { item, index };
      this.calls.set(delta.index, call);
      events.push(this.event('response.output_item.added', { output_index: index, item: copy(item) }));
    } else {
      if (delta.id) call.item.call_id = delta.id;
      if (delta.function?.name) call.item.name = delta.function.name;
    }
    const piece = delta.function?.arguments;
    if (piece !== undefined && piece !== '') {
      call.item.arguments += piece;
      events.push(this.event('response.function_call_arguments.delta', { item_id: call.item.id, output_index: call.index, delta: piece }));
    }
    return events;
  }
}
