/**
 * Chat-completions parameters each wire format can honour. OpenAI-shaped formats pass every
 * parameter through; the others map a known set, and a job that needs any other parameter is not
 * routed to them (`unsupported_parameter`) rather than silently losing it.
 */
const SUPPORTED: Record<string, ReadonlySet<string> | 'any'> = {
  mock: 'any',
  'openai-compatible': 'any',
  openai: 'any',
  anthropic: new Set(['max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'tools', 'tool_choice', 'parallel_tool_calls', 'user', 'top_k']),
  gemini: new Set([
    'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'stop', 'seed', 'presence_penalty', 'frequency_penalty',
    'response_format', 'tools', 'tool_choice', 'user', 'top_k',
  ]),
};

/** The parameters of `params` that a provider of `type` cannot honour. */
export function unsupportedParameters(type: string, params: Record<string, unknown>): string[] {
  const supported = SUPPORTED[type] ?? 'any';
  if (supported === 'any') return [];
  return Object.keys(params).filter((name) => params[name] !== undefined && params[name] !== null && !supported.has(name));
}
