import type { ChatRequest, EmbeddingRequest } from '@sluice/shared';
import type { CallOptions, CompletionResult, EmbeddingResult, ProviderAdapter } from '../provider-adapter.ts';
import { mockAnswer } from './answer.ts';
import { mockEmbeddings } from './embeddings.ts';
import type { MockProviderConfig } from './config-schema.ts';
import { createMockSimulation } from './simulate.ts';
import { streamMock } from './stream.ts';

/**
 * The offline provider of the quickstart: after `latency_ms` it echoes the last user message,
 * with token counts, and fails with a retryable 500 on a `failure_rate` share of calls. Streamed,
 * the same answer comes word by word, `stream_chunk_ms` apart. Embeddings are deterministic
 * vectors (`mockEmbedding`), after the same latency and failures.
 */
export function createMockAdapter(id: string, config: MockProviderConfig, random: () => number = Math.random): ProviderAdapter {
  const simulation = createMockSimulation(id, config, random);

  return {
    id,
    type: 'mock',
    async complete(request: ChatRequest, call: CallOptions = {}): Promise<CompletionResult> {
      await simulation.respond(simulation.start(call.signal));
      const answer = mockAnswer(request);
      return {
        statusCode: 200,
        completion: {
          id: answer.id,
          object: 'chat.completion',
          created: answer.created,
          model: answer.model,
          choices: [{ index: 0, message: { role: 'assistant', content: answer.content }, finish_reason: 'stop' }],
          usage: answer.usage,
        },
      };
    },
    async embed(request: EmbeddingRequest, call: CallOptions = {}): Promise<EmbeddingResult> {
      await simulation.respond(simulation.start(call.signal));
      return { ...mockEmbeddings(request), statusCode: 200 };
    },
    stream(request: ChatRequest, call: CallOptions = {}) {
      return streamMock({ provider: id, simulation, chunkMs: config.stream_chunk_ms }, request, call);
    },
    async probe(call: CallOptions = {}) {
      await simulation.respond(simulation.start(call.signal));
    },
    close: async () => undefined,
  };
}
