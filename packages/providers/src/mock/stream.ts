import type { ChatCompletionChunk, ChatRequest } from '@sluice/shared';
import { markInterruptions } from '../http/stream-call.ts';
import type { CallOptions } from '../provider-adapter.ts';
import { mockAnswer, splitWords } from './answer.ts';
import type { MockSimulation } from './simulate.ts';

export interface MockStreamContext {
  provider: string;
  simulation: MockSimulation;
  /** The pause between two chunks (`stream_chunk_ms`). */
  chunkMs: number;
}

type Choice = ChatCompletionChunk['choices'][number];

/** The chunks of the mock's answer: the role, the text word by word, the finish reason, the usage. */
function answerChunks(request: ChatRequest): ChatCompletionChunk[] {
  const answer = mockAnswer(request);
  const chunk = (choices: Choice[], usage: ChatCompletionChunk['usage'] = null): ChatCompletionChunk => ({
    id: answer.id, object: 'chat.completion.chunk', created: answer.created, model: answer.model, choices, usage,
  });
  const delta = (content: Choice['delta'], finishReason: Choice['finish_reason'] = null): ChatCompletionChunk => chunk([{ index: 0, delta: content, finish_reason: finishReason }]);
  return [
    delta({ role: 'assistant', content: '' }),
    ...splitWords(answer.content).map((piece) => delta({ content: piece })),
    delta({}, 'stop'),
    chunk([], answer.usage),
  ];
}

async function* readChunks(context: MockStreamContext, request: ChatRequest, options: CallOptions): AsyncGenerator<ChatCompletionChunk> {
  const call = context.simulation.start(options.signal);
  await context.simulation.respond(call);
  let first = true;
  for (const chunk of answerChunks(request)) {
    if (!first) await context.simulation.pause(call, context.chunkMs);
    first = false;
    yield chunk;
  }
}

/** `ProviderAdapter.stream` for the mock: `complete`'s answer, chunk by chunk, `stream_chunk_ms` apart. */
export function streamMock(context: MockStreamContext, request: ChatRequest, options: CallOptions = {}): AsyncIterable<ChatCompletionChunk> {
  return markInterruptions(context.provider, readChunks(context, request, options));
}
