import type { ChatRequest, EmbeddingRequest } from '@sluice/shared';
import type { RequestRefusalTest } from '../http/classify-error.ts';
import { createHttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type CallOptions, type ProviderAdapter } from '../provider-adapter.ts';
import type { OpenAICompatibleProviderConfig } from './config-schema.ts';
import { embedOpenAI } from './embeddings.ts';
import { normalizeOpenAIResponse } from './normalize.ts';
import { isOpenAICompatibleRequestRefusal } from './request-refusal.ts';
import { streamOpenAI } from './stream.ts';
import { OpenAIChatResponseSchema } from './wire-schemas.ts';

export interface OpenAICompatibleOptions {
  id: string;
  /** Wire format name reported by the adapter. Default `openai-compatible`. */
  type?: string;
  baseUrl: string;
  apiKey?: string | undefined;
  /** Extra headers on every request (Azure's `api-key`, OpenRouter's `HTTP-Referer`). */
  headers?: Record<string, string>;
  timeoutMs: number;
  connections: number;
  /** Which 403s are about the request, not the key. Default: OpenRouter's moderation refusal. */
  refusesRequest?: RequestRefusalTest;
  /**
   * The limit of a call whose params ask for `service_tier: "flex"` (the flex tier answers more
   * slowly than the default one). Default `timeoutMs`.
   */
  flexTimeoutMs?: number;
}

/** The base adapter: OpenAI's chat-completions wire format against any `base_url`. */
export function createOpenAICompatibleAdapter(options: OpenAICompatibleOptions): ProviderAdapter {
  const http = createHttpClient({ provider: options.id, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, connections: options.connections });
  const headers: Record<string, string> = { accept: 'application/json', ...(options.headers ?? {}) };
  if (options.apiKey) headers.authorization = `Bearer ${options.apiKey}`;
  const refusesRequest = options.refusesRequest ?? isOpenAICompatibleRequestRefusal;
  const timeoutFor = (request: ChatRequest): number | undefined => (request.params.service_tier === 'flex' ? options.flexTimeoutMs : undefined);

  return {
    id: options.id,
    type: options.type ?? 'openai-compatible',
    async complete(request: ChatRequest, call: CallOptions = {}) {
      // Params pass through as sent, `service_tier` included; only the limit depends on it.
      const body = { ...request.params, model: request.model, messages: request.messages };
      const timeoutMs = timeoutFor(request);
      const response = await callJson(http, options.id, 'POST', '/chat/completions', { body, headers: callHeaders(headers, call), signal: call.signal, refusesRequest, timeoutMs });
      const parsed = parseWireBody(options.id, response, OpenAIChatResponseSchema);
      return { completion: normalizeOpenAIResponse(parsed, request.model), statusCode: response.status };
    },
    embed(request: EmbeddingRequest, call: CallOptions = {}) {
      return embedOpenAI({ http, provider: options.id, headers, refusesRequest }, request, call);
    },
    stream(request: ChatRequest, call: CallOptions = {}) {
      return streamOpenAI({ http, provider: options.id, headers, refusesRequest, timeoutMs: timeoutFor(request) }, request, call);
    },
    async probe(call: CallOptions = {}) {
      await callJson(http, options.id, 'GET', '/models', { headers, signal: call.signal });
    },
    close: () => http.close(),
  };
}

/** The adapter for a `type: openai-compatible` config entry. */
export function openAICompatibleFromConfig(id: string, config: OpenAICompatibleProviderConfig): ProviderAdapter {
  return createOpenAICompatibleAdapter({ id, baseUrl: config.base_url, apiKey: config.api_key, headers: config.headers, timeoutMs: config.timeout_ms, connections: config.concurrency });
}
