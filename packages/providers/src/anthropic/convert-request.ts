import type { ChatMessage } from '@sluice/shared';
import type { ChatRequest } from '@sluice/shared';
import { functionTools, maxTokensOf, parseArguments, parseDataUrl, readToolChoice, stopList, textOf, toTurns } from '../shared-content.ts';
import type { AnthropicContentBlock, AnthropicRequest } from './wire-schemas.ts';

function contentBlocks(content: ChatMessage['content'] | null | undefined): AnthropicContentBlock[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.flatMap((part): AnthropicContentBlock[] => {
    if (part.type === 'text' && typeof part.text === 'string' && part.text !== '') return [{ type: 'text', text: part.text }];
    const url = (part.image_url as { url?: unknown } | undefined)?.url;
    if (part.type === 'image_url' && typeof url === 'string') {
      const data = parseDataUrl(url);
      return [{ type: 'image', source: data ? { type: 'base64', media_type: data.mimeType, data: data.data } : { type: 'url', url } }];
    }
    return [];
  });
}

/**
 * Chat-completions request → Messages API body: system and developer messages are hoisted into
 * `system`, tool results become user `tool_result` blocks, consecutive same-role turns are merged,
 * and `max_tokens` (required there) falls back to the provider's default.
 */
export function toAnthropicRequest(request: ChatRequest, defaultMaxTokens: number): AnthropicRequest {
  const { system, turns } = toTurns(request.messages, (message): { role: 'user' | 'assistant'; parts: AnthropicContentBlock[] } => {
    switch (message.role) {
      case 'user':
        return { role: 'user', parts: contentBlocks(message.content) };
      case 'assistant':
        return {
          role: 'assistant',
          parts: [
            ...contentBlocks(message.content),
            ...(message.tool_calls ?? []).map((call): AnthropicContentBlock => ({ type: 'tool_use', id: call.id, name: call.function.name, input: parseArguments(call.function.arguments) })),
          ],
        };
      case 'tool':
        return { role: 'user', parts: [{ type: 'tool_result', tool_use_id: message.tool_call_id, content: textOf(message.content) }] };
    }
  });
  const messages = turns.map((turn) => ({ role: turn.role, content: turn.parts }));
  const { params } = request;
  const body: AnthropicRequest = { model: request.model, max_tokens: maxTokensOf(params) ?? defaultMaxTokens, messages };
  if (system !== '') body.system = system;
  if (typeof params.temperature === 'number') body.temperature = params.temperature;
  if (typeof params.top_p === 'number') body.top_p = params.top_p;
  if (typeof params.top_k === 'number') body.top_k = params.top_k;
  const stop = stopList(params.stop);
  if (stop && stop.length > 0) body.stop_sequences = stop;
  const tools = functionTools(params.tools);
  if (tools.length > 0) {
    body.tools = tools.map((tool) => ({
      name: tool.name,
      ...(tool.description ? { description: tool.description } : {}),
      input_schema: tool.parameters ?? { type: 'object', properties: {} },
    }));
  }
  const choice = readToolChoice(params.tool_choice);
  const noParallel = params.parallel_tool_calls === false;
  if (choice?.mode === 'function') body.tool_choice = { type: 'tool', name: choice.name, ...(noParallel ? { disable_parallel_tool_use: true } : {}) };
  else if (choice?.mode === 'required') body.tool_choice = { type: 'any', ...(noParallel ? { disable_parallel_tool_use: true } : {}) };
  else if (choice?.mode === 'none') body.tool_choice = { type: 'none' };
  else if (noParallel && tools.length > 0) body.tool_choice = { type: 'auto', disable_parallel_tool_use: true };
  if (typeof params.user === 'string') body.metadata = { user_id: params.user };
  return body;
}
