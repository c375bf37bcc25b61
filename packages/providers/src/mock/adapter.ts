import { setTimeout as sleep } from 'node:timers/promises';
import { estimatePromptTokens, type ChatMessage } from '@sluice/shared';
import { type ChatRequest } from '@sluice/shared';
import type { CallOptions, CompletionResult, ProviderAdapter } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import type { MockProviderConfig } from './config-schema.ts';

function lastUserText(messages: readonly ChatMessage[]): string {
  for (let index = messages.length - 1; index >= 0; index -= 1) {
    const message = messages[index];
    if (message?.role !== 'user') continue;
    if (typeof message.content === 'string') return message.content;
    return message.content
      .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
      .join(' ')
      .trim();
  }
  return '';
}

/**
 * The offline provider of the quickstart: after `latency_ms` it echoes the last user message,
 * with token counts, and fails with a retryable 500 on a `failure_rate` share of calls.
 */
export function createMockAdapter(id: string, config: MockProviderConfig, random: () => number = Math.random): ProviderAdapter {
  const wait = async (signal: AbortSignal | undefined): Promise<void> => {
    const timeout = AbortSignal.timeout(config.timeout_ms);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    try {
      if (config.latency_ms > 0) await sleep(config.latency_ms, undefined, { signal: combined });
    } catch (error) {
      if (timeout.aborted) throw new ProviderError(`${id}: no response within ${config.timeout_ms} ms`, { kind: 'timeout', provider: id, status: null, cause: error });
      throw new ProviderError(`${id}: request aborted`, { kind: 'canceled', provider: id, status: null, cause: error });
    }
    if (random() < config.failure_rate) {
      throw new ProviderError(`${id}: HTTP 500: simulated failure`, { kind: 'retryable', provider: id, status: 500, body: '{"error":{"message":"simulated failure"}}' });
    }
  };

  return {
    id,
    type: 'mock',
    async complete(request: ChatRequest, call: CallOptions = {}): Promise<CompletionResult> {
      await wait(call.signal);
      const content = `echo: ${lastUserText(request.messages)}`;
      const promptTokens = estimatePromptTokens(request.messages);
      const completionTokens = Math.ceil(content.length / 4);
      return {
        statusCode: 200,
        completion: {
          id: `chatcmpl-mock-${Date.now().toString(36)}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model: request.model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
          usage: {
            prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens,
            // The mock neither caches nor reasons; the details are there so clients see the full shape offline.
            prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
          },
        },
      };
    },
    async probe(call: CallOptions = {}) {
      await wait(call.signal);
    },
    close: async () => undefined,
  };
}
