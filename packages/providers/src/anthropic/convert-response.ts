import type { ChatCompletion, FinishReason } from '@sluice/shared';
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
  const usage = message.usage;
  const promptTokens = usage.input_tokens + (usage.cache_creation_input_tokens ?? 0) + (usage.cache_read_input_tokens ?? 0);
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
    usage: { prompt_tokens: promptTokens, completion_tokens: usage.output_tokens, total_tokens: promptTokens + usage.output_tokens },
  };
}
