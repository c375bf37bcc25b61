import type { ChatRequest, EmbeddingRequest } from '@sluice/shared';
import { createHttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type CallOptions, type ProviderAdapter } from '../provider-adapter.ts';
import { createGeminiBatchAdapter } from './batch.ts';
import type { GeminiProviderConfig } from './config-schema.ts';
import { toGeminiRequest } from './convert-request.ts';
import { fromGeminiResponse } from './convert-response.ts';
import { embedGemini } from './embeddings.ts';
import { isGeminiRequestRefusal } from './request-refusal.ts';
import { openEventBatches } from '../http/stream-call.ts';
import { convertVendorStream, parseEventData } from '../vendor-stream.ts';
import { createGeminiStreamConverter } from './convert-stream.ts';
import { GeminiResponseSchema } from './wire-schemas.ts';

/** Google's Gemini API (`POST {base_url}/models/{model}:generateContent`, `x-goog-api-key`), and its batch mode. */
export function geminiFromConfig(id: string, config: GeminiProviderConfig): ProviderAdapter {
  const http = createHttpClient({ provider: id, baseUrl: config.base_url, timeoutMs: config.timeout_ms, connections: config.concurrency });
  const headers: Record<string, string> = { accept: 'application/json', ...config.headers, 'x-goog-api-key': config.api_key };
  const batch = createGeminiBatchAdapter({ provider: id, http, baseUrl: config.base_url, timeoutMs: config.timeout_ms, headers });
  return {
    id,
    type: 'gemini',
    async complete(request: ChatRequest, call: CallOptions = {}) {
      const model = request.model.replace(/^models\//, '');
      const path = `/models/${encodeURIComponent(model)}:generateContent`;
      const response = await callJson(http, id, 'POST', path, { body: toGeminiRequest(request), headers: callHeaders(headers, call), signal: call.signal, refusesRequest: isGeminiRequestRefusal });
      return { completion: fromGeminiResponse(parseWireBody(id, response, GeminiResponseSchema), model), statusCode: response.status };
    },
    stream(request: ChatRequest, call: CallOptions = {}) {
      const model = request.model.replace(/^models\//, '');
      const path = `/models/${encodeURIComponent(model)}:streamGenerateContent?alt=sse`;
      const events = openEventBatches(http, id, path, { body: toGeminiRequest(request), headers: { ...headers, ...call.headers, accept: 'text/event-stream' }, signal: call.signal, refusesRequest: isGeminiRequestRefusal });
      const converter = createGeminiStreamConverter({ model });
      return convertVendorStream(id, events, { push: (event) => converter.push(parseEventData(event.data)), end: () => converter.end() }, isGeminiRequestRefusal);
    },
    embed(request: EmbeddingRequest, call: CallOptions = {}) {
      return embedGemini({ http, provider: id, headers }, request, call);
    },
    async probe(call: CallOptions = {}) {
      await callJson(http, id, 'GET', '/models?pageSize=1', { headers, signal: call.signal });
    },
    batch,
    async close() {
      await Promise.all([http.close(), batch.close()]);
    },
  };
}
