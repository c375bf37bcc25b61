import type { ChatMessage } from '@sluice/shared';

type Content = ChatMessage['content'];

/** The text of a message's content (string, or the text parts joined). */
export function textOf(content: Content | null | undefined): string {
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return content;
  return content
    .map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : ''))
    .filter((text) => text !== '')
    .join('\n');
}

/** A `data:<mime>;base64,<data>` URL split into its parts, or null for any other URL. */
export function parseDataUrl(url: string): { mimeType: string; data: string } | null {
  const match = /^data:([^;,]+);base64,(.*)$/s.exec(url);
  return match ? { mimeType: match[1] ?? 'application/octet-stream', data: match[2] ?? '' } : null;
}

/** Tool-call arguments are a JSON string in OpenAI's format and an object elsewhere. */
export function parseArguments(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : { value };
  } catch {
    return {};
  }
}

/** The `tools` parameter in OpenAI's shape, read defensively. */
export interface FunctionTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

export function functionTools(tools: unknown): FunctionTool[] {
  if (!Array.isArray(tools)) return [];
  return tools.flatMap((tool: { type?: string; function?: { name?: unknown; description?: unknown; parameters?: unknown } }) => {
    const fn = tool?.function;
    if (tool?.type !== 'function' || typeof fn?.name !== 'string') return [];
    return [{
      name: fn.name,
      ...(typeof fn.description === 'string' ? { description: fn.description } : {}),
      ...(typeof fn.parameters === 'object' && fn.parameters !== null ? { parameters: fn.parameters as Record<string, unknown> } : {}),
    }];
  });
}

/** OpenAI's `tool_choice` reduced to what other formats can express. */
export type ToolChoice = { mode: 'auto' | 'required' | 'none' } | { mode: 'function'; name: string } | null;

export function readToolChoice(choice: unknown): ToolChoice {
  if (choice === 'auto' || choice === 'required' || choice === 'none') return { mode: choice };
  const name = (choice as { function?: { name?: unknown } } | undefined)?.function?.name;
  return typeof name === 'string' ? { mode: 'function', name } : null;
}

/** `stop` as a list. */
export function stopList(stop: unknown): string[] | undefined {
  if (typeof stop === 'string') return [stop];
  if (Array.isArray(stop)) return stop.filter((item): item is string => typeof item === 'string');
  return undefined;
}

/** `max_completion_tokens`, else `max_tokens`, when numeric. */
export function maxTokensOf(params: Record<string, unknown>): number | undefined {
  const value = params.max_completion_tokens ?? params.max_tokens;
  return typeof value === 'number' ? value : undefined;
}

/**
 * Splits chat messages the way formats with a separate system prompt want them: system and
 * developer text joined apart, every other message converted to a turn, consecutive same-role
 * turns merged (both formats want alternation) and empty ones dropped.
 */
export function toTurns<Role extends string, Part>(
  messages: readonly ChatMessage[],
  convert: (message: Exclude<ChatMessage, { role: 'system' | 'developer' }>) => { role: Role; parts: Part[] },
): { system: string; turns: { role: Role; parts: Part[] }[] } {
  const system: string[] = [];
  const turns: { role: Role; parts: Part[] }[] = [];
  for (const message of messages) {
    if (message.role === 'system' || message.role === 'developer') {
      const text = textOf(message.content);
      if (text !== '') system.push(text);
      continue;
    }
    const turn = convert(message);
    if (turn.parts.length === 0) continue;
    const last = turns.at(-1);
    if (last?.role === turn.role) last.parts.push(...turn.parts);
    else turns.push({ role: turn.role, parts: [...turn.parts] });
  }
  return { system: system.join('\n\n'), turns };
}
