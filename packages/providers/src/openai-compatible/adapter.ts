import type { ChatRequest, ProviderConfig } from '@sluice/shared';
import { classifyHttpError, errorMessage } from '../http/classify-error.ts';
import { createHttpClient, type HttpResponse } from '../http/http-client.ts';
import type { CallOptions, CompletionResult, ProviderAdapter } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import { normalizeOpenAIResponse } from './normalize.ts';
import { OpenAIChatResponseSchema } from './wire-schemas.ts';

export interface OpenAICompatibleOptions {
  id: string;
  type?: string;
  baseUrl: string;
  apiKey?: string | undefined;
  /** Extra headers on every request (Azure's `api-key`, OpenRouter's `HTTP-Referer`). */
  headers?: Record<string, string>;
  timeoutMs: number;
  connections: number;
}

/** Parses a 2xx body; a 200 that carries an error or an unreadable body is a retryable failure. */
export function parseChatResponse(provider: string, response: HttpResponse, model: string): CompletionResult {
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch (error) {
    throw new ProviderError(`${provider}: response is not JSON`, { kind: 'retryable', provider, status: response.status, body: response.body, cause: error });
  }
  const parsed = OpenAIChatResponseSchema.safeParse(json);
  if (!parsed.success) {
    const hasError = typeof json === 'object' && json !== null && 'error' in json;
    const message = hasError ? `error in a ${response.status} body: ${errorMessage(response.body)}` : `malformed response: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`;
    throw new ProviderError(`${provider}: ${message}`, { kind: 'retryable', provider, status: response.status, body: response.body });
  }
  return { completion: normalizeOpenAIResponse(parsed.data, model), statusCode: response.status };
}

export function createOpenAICompatibleAdapter(options: OpenAICompatibleOptions): ProviderAdapter {
  const http = createHttpClient({ provider: options.id, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, connections: options.connections });
  const headers: Record<string, string> = { accept: 'application/json', ...(options.headers ?? {}) };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;

  const send = async (method: 'GET' | 'POST', path: string, body: string | undefined, call: CallOptions): Promise<HttpResponse> => {
    const response = await http.request(method, path, { body, headers, signal: call.signal });
    if (response.status < 200 || response.status >= 300) throw classifyHttpError(options.id, response);
    return response;
  };

  return {
    id: options.id,
    type: options.type ?? 'openai-compatible',
    async complete(request: ChatRequest, call: CallOptions = {}) {
      const body = JSON.stringify({ ...request.params, model: request.model, messages: request.messages });
      const response = await send('POST', '/chat/completions', body, call);
      return parseChatResponse(options.id, response, request.model);
    },
    async probe(call: CallOptions = {}) {
      await send('GET', '/models', undefined, call);
    },
    close: () => http.close(),
  };
}

/** The adapter for a `type: openai-compatible` config entry. */
export function openAICompatibleFromConfig(id: string, config: Extract<ProviderConfig, { type: 'openai-compatible' }>): ProviderAdapter {
  return createOpenAICompatibleAdapter({
    id,
    baseUrl: config.base_url,
    apiKey: config.api_key,
    headers: config.headers,
    timeoutMs: config.timeout_ms,
    connections: config.concurrency,
  });
}
