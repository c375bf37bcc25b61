import type { CreateResponse, FunctionTool, TextFormat, ToolChoice } from './request-schema.ts';

/**
 * The mapping between a response request's parameters and a chat job's, both ways: the request's
 * become chat-completions parameters (which routing checks against each target's provider type,
 * so a target that cannot honour one is not used), and a response object echoes them back from
 * the stored chat parameters.
 */

type ChatTool = { type: 'function'; function: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean } };

function toChatTool(tool: FunctionTool): ChatTool {
  return {
    type: 'function',
    function: {
      name: tool.name,
      ...(tool.description != null ? { description: tool.description } : {}),
      ...(tool.parameters != null ? { parameters: tool.parameters } : {}),
      ...(tool.strict != null ? { strict: tool.strict } : {}),
    },
  };
}

function toResponseFormat(format: TextFormat): Record<string, unknown> | undefined {
  if (format.type === 'text') return undefined;
  if (format.type === 'json_object') return { type: 'json_object' };
  const { name, schema, description, strict } = format;
  return { type: 'json_schema', json_schema: { name, schema, ...(description != null ? { description } : {}), ...(strict != null ? { strict } : {}) } };
}

const toChatToolChoice = (choice: ToolChoice): unknown => (typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } });

/**
 * The chat-completions parameters of a response request. `parallel_tool_calls: true` is every
 * format's default and is left out (so a target that has no such switch can still take it);
 * `max_output_tokens` counts reasoning tokens, as `max_completion_tokens` does.
 */
export function toChatParams(body: CreateResponse): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const set = (name: string, value: unknown): void => {
    if (value !== undefined && value !== null) params[name] = value;
  };
  set('max_completion_tokens', body.max_output_tokens);
  set('temperature', body.temperature);
  set('top_p', body.top_p);
  if (body.tools != null && body.tools.length > 0) params.tools = body.tools.map(toChatTool);
  if (body.tool_choice != null) params.tool_choice = toChatToolChoice(body.tool_choice);
  if (body.parallel_tool_calls === false) params.parallel_tool_calls = false;
  if (body.text?.format != null) set('response_format', toResponseFormat(body.text.format));
  set('verbosity', body.text?.verbosity);
  set('reasoning_effort', body.reasoning?.effort);
  set('user', body.user);
  set('safety_identifier', body.safety_identifier);
  set('prompt_cache_key', body.prompt_cache_key);
  set('service_tier', body.service_tier);
  return params;
}

const asObject = (value: unknown): Record<string, unknown> => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {});

function echoTools(tools: unknown): unknown[] {
  if (!Array.isArray(tools)) return [];
  return tools.map((tool) => {
    const fn = asObject(asObject(tool).function);
    return { type: 'function', name: fn.name, description: fn.description ?? null, parameters: fn.parameters ?? null, strict: fn.strict ?? null };
  });
}

function echoToolChoice(choice: unknown): unknown {
  if (choice === undefined || choice === null) return 'auto';
  if (typeof choice === 'string') return choice;
  return { type: 'function', name: asObject(asObject(choice).function).name };
}

function echoFormat(format: unknown): Record<string, unknown> {
  const { type, json_schema: jsonSchema } = asObject(format);
  if (type === 'json_object') return { type: 'json_object' };
  if (type !== 'json_schema') return { type: 'text' };
  const { name, schema, description, strict } = asObject(jsonSchema);
  return { type: 'json_schema', name, schema, description: description ?? null, strict: strict ?? null };
}

/** The request's parameters as a response object shows them, from the job's chat parameters (the API's defaults where it sent none). */
export function echoParams(params: Record<string, unknown>): Record<string, unknown> {
  return {
    max_output_tokens: params.max_completion_tokens ?? null,
    temperature: params.temperature ?? 1,
    top_p: params.top_p ?? 1,
    tools: echoTools(params.tools),
    tool_choice: echoToolChoice(params.tool_choice),
    parallel_tool_calls: params.parallel_tool_calls ?? true,
    text: { format: echoFormat(params.response_format), verbosity: params.verbosity ?? 'medium' },
    reasoning: { effort: params.reasoning_effort ?? null, summary: null },
    user: params.user ?? null,
    safety_identifier: params.safety_identifier ?? null,
    prompt_cache_key: params.prompt_cache_key ?? null,
    service_tier: params.service_tier ?? 'default',
    truncation: 'disabled',
  };
}
