import { estimatePromptTokens, type ChatMessage, type ChatRequest, type Usage } from '@sluice/shared';

/** What the mock answers a request, streamed or not. */
export interface MockAnswer {
  id: string;
  created: number;
  model: string;
  content: string;
  usage: Usage;
}

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

/** `echo: <last user text>` with estimated token counts; `complete` and `stream` share it so both give the same completion. */
export function mockAnswer(request: ChatRequest, now: number = Date.now()): MockAnswer {
  const content = `echo: ${lastUserText(request.messages)}`;
  const promptTokens = estimatePromptTokens(request.messages);
  const completionTokens = Math.ceil(content.length / 4);
  return {
    id: `chatcmpl-mock-${now.toString(36)}`,
    created: Math.floor(now / 1000),
    model: request.model,
    content,
    usage: {
      prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens,
      // The mock neither caches nor reasons; the details are there so clients see the full shape offline.
      prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 },
    },
  };
}

/** Word-sized pieces, each with the whitespace before it, so that joining them gives `text` back exactly. */
export function splitWords(text: string): string[] {
  const pieces: string[] = [...(text.match(/\s*\S+/g) ?? [])];
  const rest = text.slice(pieces.join('').length);
  if (rest !== '') pieces.push(rest);
  return pieces;
}
