import type { FinishReason } from '@sluice/shared';

const KNOWN: ReadonlySet<string> = new Set(['stop', 'length', 'tool_calls', 'content_filter', 'function_call']);
const ALIASES: Record<string, FinishReason> = { eos: 'stop', end_turn: 'stop', stop_sequence: 'stop', max_tokens: 'length', tool_use: 'tool_calls' };

/** OpenAI-compatible servers mostly send OpenAI's reasons; a few send their own, mapped here. */
export function mapFinishReason(reason: string | null | undefined): FinishReason | null {
  if (reason === null || reason === undefined) return null;
  if (KNOWN.has(reason)) return reason as FinishReason;
  return ALIASES[reason] ?? 'stop';
}
