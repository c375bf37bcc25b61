import type { ChatMessage } from './chat.ts';

/** Rough prompt token count (4 characters per token) for estimates before a provider counts. */
export function estimatePromptTokens(messages: readonly ChatMessage[]): number {
  let characters = 0;
  for (const message of messages) {
    const content = message.content;
    if (typeof content === 'string') characters += content.length;
    else if (Array.isArray(content)) characters += JSON.stringify(content).length;
    characters += 16; // role and message framing
  }
  return Math.ceil(characters / 4);
}
