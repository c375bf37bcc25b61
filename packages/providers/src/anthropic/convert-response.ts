import type { ChatCompletion, FinishReason, Usage } from '@sluice/shared';
import type { AnthropicMessage } from './wire-schemas.ts';

const STOP_REASONS: Record<string, FinishReason> = {
  end_turn: 'stop',
  stop_sequence: 'stop',
  pause_turn: 'stop',
  max_tokens: 'length',
  model_context_window_exceeded: 'length',
  tool_use: 'tool_calls',
  refusal: 'content_filter',
};

export function mapStopReason(reason: string | null): FinishReason | null {
  return reason === null ? null : (STOP_REASONS[reason] ?? 'stop');
}

/**
 * Anthropic usage → OpenAI-shaped usage. `input_tokens` leaves out the cache, so the prompt is
 * input + cache writes + cache reads; the details say which of them were reads and writes (priced
 * apart). Output includes thinking, which the details repeat as reasoning when reported.
 */
export function fromAnthropicUsage(usage: AnthropicMessage['usage']): Usage {
  const written = usage.cache_creation_input_tokens ?? 0;
  const read = usage.cache_read_input_tokens ?? 0;
  const promptTokens = usage.input_tokens + written + read;
  // Without the split, every write is a 5-minute one (the only lifetime before 1-hour writes existed).
  const split = usage.cache_creation ?? { ephemeral_5m_input_tokens: written, ephemeral_1h_input_tokens: 0 };
  const thinking = usage.output_tokens_details?.thinking_tokens;
  return {
    prompt_tokens: promptTokens,
    completion_tokens: usage.output_tokens,
    total_tokens: promptTokens + usage.output_tokens,
    prompt_tokens_details: { cached_tokens: read, cache_write_5m_tokens: split.ephemeral_5m_input_tokens ?? 0, cache_write_1h_tokens: split.ephemeral_1h_input_tokens ?? 0 },
    ...(thinking === undefined ? {} : { completion_tokens_details: { reasoning_tokens: thinking } }),
  };
}

/** Messages API response → `chat.completion`: text blocks joined, tool_use blocks as tool_calls, cache tokens counted as prompt tokens. */
export function fromAnthropicMessage(message: AnthropicMessage): ChatCompletion {
  let text = '';
  const toolCalls: { id: string; type: 'function'; function: { name: string; arguments: string } }[] = [];
  for (const block of message.content) {
    if (block.type === 'text' && typeof block.text === 'string') text += block.text;
    if (block.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string') {
      toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: JSON.stringify(block.input ?? {}) } });
    }
  }
  return {
    id: message.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: message.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text, ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}) },
        finish_reason: mapStopReason(message.stop_reason),
      },
    ],
    usage: fromAnthropicUsage(message.usage),
  };
}
