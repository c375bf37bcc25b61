import type { z } from 'zod';
import { deltaChunk, malformedStream, usageChunk, type StreamChunk, type StreamEnd, type StreamFailure, type StreamIdentity, type StreamStep } from '../stream-chunk.ts';
import { fromAnthropicUsage, mapStopReason } from './convert-response.ts';
import { ContentBlockDeltaSchema, ContentBlockStartSchema, ContentBlockStopSchema, MessageDeltaSchema, MessageStartSchema, StreamErrorSchema, type MessageDeltaUsage } from './stream-wire-schemas.ts';
import type { AnthropicMessage } from './wire-schemas.ts';
import { ANTHROPIC_ERROR_STATUS } from './error-status.ts';

/** One server-sent event of a Messages stream: its `event:` name and its parsed `data:` JSON. */
export interface AnthropicStreamEvent {
  event: string;
  data: unknown;
}

/** Stream identity: `id` and `created` default to the message's id and now; the model is the one the message names, as in a non-streamed answer. */
export interface AnthropicStreamOptions {
  id?: string;
  model?: string;
  created?: number;
}

/** Converts one Messages stream, event by event, into `chat.completion.chunk`s. */
export interface AnthropicStreamConverter {
  /** The chunks one event yields; an `error` event (or an unreadable one) also yields the failure that ends the stream. */
  push(event: AnthropicStreamEvent): StreamStep;
  /** Call when the byte stream ends: complete only if `message_stop` came and no failure did. */
  end(): StreamEnd;
}

/** An `error` event as the failure an HTTP error answer of the same type would be; unknown types are server errors. */
export function anthropicStreamFailure(data: z.infer<typeof StreamErrorSchema>): StreamFailure {
  const message = data.error.message ?? data.error.type;
  return { status: ANTHROPIC_ERROR_STATUS[data.error.type] ?? 500, headers: {}, body: JSON.stringify(data), message: `${data.error.type}: ${message}` };
}

type Usage = AnthropicMessage['usage'];

interface State {
  identity: StreamIdentity | null;
  usage: Usage | null;
  /** Content-block slot → tool-call index: OpenAI numbers tool calls, Anthropic numbers all blocks. */
  tools: Map<number, { index: number; sentArguments: boolean }>;
  stopped: boolean;
  failed: boolean;
}

/**
 * A stateful converter for one Anthropic Messages stream. Text deltas become `content`, each
 * tool_use block a tool call (id and name first, then its JSON fragments at the call's index),
 * thinking is left out as in non-streamed answers; the stop reason and usage map as
 * `fromAnthropicMessage` maps them, the usage in a last chunk with no choices at `message_stop`.
 */
export function createAnthropicStreamConverter(options: AnthropicStreamOptions = {}): AnthropicStreamConverter {
  const state: State = { identity: null, usage: null, tools: new Map(), stopped: false, failed: false };
  const fail = (failure: StreamFailure): StreamStep => {
    state.failed = true;
    return { chunks: [], failure };
  };
  return {
    push(event) {
      if (state.failed || state.stopped) return { chunks: [] };
      if (event.event === 'error') {
        const parsed = StreamErrorSchema.safeParse(event.data);
        return fail(parsed.success ? anthropicStreamFailure(parsed.data) : malformedStream('unreadable error event'));
      }
      if (event.event === 'message_start') return start(state, options, event.data, fail);
      const identity = state.identity;
      // Unknown events are dropped, as the vendor's SDK drops them: new event types must not break old gateways.
      if (!KNOWN.has(event.event)) return { chunks: [] };
      if (identity === null) return fail(malformedStream(`${event.event} before message_start`));
      const chunks = convertEvent(state, identity, event);
      return chunks === null ? fail(malformedStream(`unreadable ${event.event} event`)) : { chunks };
    },
    end() {
      return { complete: state.stopped && !state.failed, chunks: [] };
    },
  };
}

const KNOWN = new Set(['content_block_start', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop', 'ping']);

function start(state: State, options: AnthropicStreamOptions, data: unknown, fail: (failure: StreamFailure) => StreamStep): StreamStep {
  const parsed = MessageStartSchema.safeParse(data);
  if (!parsed.success || state.identity !== null) return fail(malformedStream(parsed.success ? 'a second message_start' : 'unreadable message_start event'));
  const { message } = parsed.data;
  state.identity = { id: options.id ?? message.id, model: message.model || (options.model ?? ''), created: options.created ?? Math.floor(Date.now() / 1000) };
  state.usage = message.usage;
  return { chunks: [deltaChunk(state.identity, { role: 'assistant', content: '' })] };
}

/** The chunks of one event after message_start, or null when its data is not what its name says. */
function convertEvent(state: State, identity: StreamIdentity, event: AnthropicStreamEvent): StreamChunk[] | null {
  switch (event.event) {
    case 'content_block_start':
      return blockStart(state, identity, event.data);
    case 'content_block_delta':
      return blockDelta(state, identity, event.data);
    case 'content_block_stop':
      return blockStop(state, identity, event.data);
    case 'message_delta':
      return messageDelta(state, identity, event.data);
    case 'message_stop':
      state.stopped = true;
      return state.usage === null ? [] : [usageChunk(identity, fromAnthropicUsage(state.usage))];
    default:
      return []; // ping
  }
}

function blockStart(state: State, identity: StreamIdentity, data: unknown): StreamChunk[] | null {
  const parsed = ContentBlockStartSchema.safeParse(data);
  if (!parsed.success) return null;
  const { index: slot, content_block: block } = parsed.data;
  if (block.type === 'text') return block.text ? [deltaChunk(identity, { content: block.text })] : [];
  if (block.type !== 'tool_use') return [];
  if (block.id === undefined || block.name === undefined) return null;
  const index = state.tools.size;
  state.tools.set(slot, { index, sentArguments: false });
  return [deltaChunk(identity, { tool_calls: [{ index, id: block.id, type: 'function', function: { name: block.name, arguments: '' } }] })];
}

function blockDelta(state: State, identity: StreamIdentity, data: unknown): StreamChunk[] | null {
  const parsed = ContentBlockDeltaSchema.safeParse(data);
  if (!parsed.success) return null;
  const { index: slot, delta } = parsed.data;
  if (delta.type === 'text_delta') return delta.text ? [deltaChunk(identity, { content: delta.text })] : [];
  const tool = state.tools.get(slot);
  if (delta.type !== 'input_json_delta' || tool === undefined || !delta.partial_json) return [];
  tool.sentArguments = true;
  return [deltaChunk(identity, { tool_calls: [{ index: tool.index, function: { arguments: delta.partial_json } }] })];
}

/** A tool block that ends without a fragment had no input: its arguments are `{}`, as a non-streamed answer's would be. */
function blockStop(state: State, identity: StreamIdentity, data: unknown): StreamChunk[] | null {
  const parsed = ContentBlockStopSchema.safeParse(data);
  if (!parsed.success) return null;
  const tool = state.tools.get(parsed.data.index);
  if (tool === undefined || tool.sentArguments) return [];
  tool.sentArguments = true;
  return [deltaChunk(identity, { tool_calls: [{ index: tool.index, function: { arguments: '{}' } }] })];
}

/** The finish reason; the usage counts it reports replace the ones so far (they are cumulative). */
function messageDelta(state: State, identity: StreamIdentity, data: unknown): StreamChunk[] | null {
  const parsed = MessageDeltaSchema.safeParse(data);
  if (!parsed.success || state.usage === null) return null;
  state.usage = mergeUsage(state.usage, parsed.data.usage ?? {});
  const finish = mapStopReason(parsed.data.delta.stop_reason ?? null);
  return finish === null ? [] : [deltaChunk(identity, {}, finish)];
}

const COUNTS = ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/** The usage so far with what a message_delta reports: its counts are cumulative, so each one it gives replaces the one before. */
function mergeUsage(usage: Usage, reported: MessageDeltaUsage): Usage {
  const merged: Usage = { ...usage };
  for (const key of COUNTS) {
    const value = reported[key];
    if (typeof value === 'number') merged[key] = value;
  }
  if (reported.cache_creation) merged.cache_creation = reported.cache_creation;
  if (reported.output_tokens_details) merged.output_tokens_details = reported.output_tokens_details;
  return merged;
}
