import type { ChatMessage } from '@sluice/shared';
import type { ChatRequest } from '@sluice/shared';
import { functionTools, maxTokensOf, parseArguments, parseDataUrl, readToolChoice, stopList, textOf, toTurns } from '../shared-content.ts';
import type { GeminiPart, GeminiRequest } from './wire-schemas.ts';

const MIME_BY_EXTENSION: Record<string, string> = { png: 'image/png', gif: 'image/gif', webp: 'image/webp', jpg: 'image/jpeg', jpeg: 'image/jpeg', pdf: 'application/pdf' };

function parts(content: ChatMessage['content'] | null | undefined): GeminiPart[] {
  if (content === null || content === undefined) return [];
  if (typeof content === 'string') return content === '' ? [] : [{ text: content }];
  return content.flatMap((part): GeminiPart[] => {
    if (part.type === 'text' && typeof part.text === 'string' && part.text !== '') return [{ text: part.text }];
    const url = (part.image_url as { url?: unknown } | undefined)?.url;
    if (part.type === 'image_url' && typeof url === 'string') {
      const data = parseDataUrl(url);
      if (data) return [{ inlineData: { mimeType: data.mimeType, data: data.data } }];
      const extension = /\.([a-z0-9]+)(?:\?|$)/i.exec(url)?.[1]?.toLowerCase() ?? '';
      return [{ fileData: { mimeType: MIME_BY_EXTENSION[extension] ?? 'image/jpeg', fileUri: url } }];
    }
    return [];
  });
}

/**
 * Chat-completions request → `generateContent` body: assistant becomes `model`, system and developer
 * messages become `systemInstruction`, tool results become `functionResponse` parts (named after
 * the call they answer), sampling parameters move into `generationConfig`.
 */
export function toGeminiRequest(request: ChatRequest): GeminiRequest {
  const callNames = new Map<string, string>();
  const { system, turns } = toTurns(request.messages, (message): { role: 'user' | 'model'; parts: GeminiPart[] } => {
    switch (message.role) {
      case 'user':
        return { role: 'user', parts: parts(message.content) };
      case 'assistant':
        for (const call of message.tool_calls ?? []) callNames.set(call.id, call.function.name);
        return {
          role: 'model',
          parts: [
            ...parts(message.content),
            ...(message.tool_calls ?? []).map((call): GeminiPart => ({ functionCall: { name: call.function.name, args: parseArguments(call.function.arguments) } })),
          ],
        };
      case 'tool': {
        const text = textOf(message.content);
        const parsed = parseArguments(text);
        const response = Object.keys(parsed).length > 0 ? parsed : { content: text };
        return { role: 'user', parts: [{ functionResponse: { name: callNames.get(message.tool_call_id) ?? message.tool_call_id, response } }] };
      }
    }
  });
  const contents = turns;
  const body: GeminiRequest = { contents };
  if (system !== '') body.systemInstruction = { parts: [{ text: system }] };
  const { params } = request;
  const generation: Record<string, unknown> = {};
  const copy = (from: string, to: string): void => {
    if (typeof params[from] === 'number') generation[to] = params[from];
  };
  copy('temperature', 'temperature');
  copy('top_p', 'topP');
  copy('top_k', 'topK');
  copy('seed', 'seed');
  copy('presence_penalty', 'presencePenalty');
  copy('frequency_penalty', 'frequencyPenalty');
  const maxTokens = maxTokensOf(params);
  if (maxTokens !== undefined) generation.maxOutputTokens = maxTokens;
  const stop = stopList(params.stop);
  if (stop && stop.length > 0) generation.stopSequences = stop;
  const format = params.response_format as { type?: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === 'json_object' || format?.type === 'json_schema') generation.responseMimeType = 'application/json';
  if (format?.type === 'json_schema' && format.json_schema?.schema) generation.responseJsonSchema = format.json_schema.schema;
  if (Object.keys(generation).length > 0) body.generationConfig = generation;
  const tools = functionTools(params.tools);
  if (tools.length > 0) body.tools = [{ functionDeclarations: tools }];
  const choice = readToolChoice(params.tool_choice);
  if (choice?.mode === 'function') body.toolConfig = { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: [choice.name] } };
  else if (choice) body.toolConfig = { functionCallingConfig: { mode: choice.mode === 'required' ? 'ANY' : choice.mode === 'none' ? 'NONE' : 'AUTO' } };
  return body;
}
