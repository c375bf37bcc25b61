import type { ChatRequest } from '@sluice/shared';
import { createHttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type CallOptions, type ProviderAdapter } from '../provider-adapter.ts';
import { createAnthropicBatchAdapter } from './batch.ts';
import type { AnthropicProviderConfig } from './config-schema.ts';
import { toAnthropicRequest } from './convert-request.ts';
import { fromAnthropicMessage } from './convert-response.ts';
import { isAnthropicRequestRefusal } from './request-refusal.ts';
import { openEventBatches } from '../http/stream-call.ts';
import { convertVendorStream, parseEventData } from '../vendor-stream.ts';
import { createAnthropicStreamConverter } from './convert-stream.ts';
import { AnthropicMessageSchema } from './wire-schemas.ts';

/** Anthropic's Messages API (`POST /v1/messages`, `x-api-key`, `anthropic-version`), and its Message Batches API. */
export function anthropicFromConfig(id: string, config: AnthropicProviderConfig): ProviderAdapter {
  const http = createHttpClient({ provider: id, baseUrl: config.base_url, timeoutMs: config.timeout_ms, connections: config.concurrency });
  const headers: Record<string, string> = {
    accept: 'application/json',
    ...config.headers,
    'x-api-key': config.api_key,
    'anthropic-version': config.anthropic_version,
  };
  return {
    id,
    type: 'anthropic',
    async complete(request: ChatRequest, call: CallOptions = {}) {
      const body = toAnthropicRequest(request, config.default_max_tokens);
      const response = await callJson(http, id, 'POST', '/v1/messages', { body, headers: callHeaders(headers, call), signal: call.signal, refusesRequest: isAnthropicRequestRefusal });
      return { completion: fromAnthropicMessage(parseWireBody(id, response, AnthropicMessageSchema)), statusCode: response.status };
    },
    stream(request: ChatRequest, call: CallOptions = {}) {
      const body = { ...toAnthropicRequest(request, config.default_max_tokens), stream: true };
      const events = openEventBatches(http, id, '/v1/messages', { body, headers: { ...headers, ...call.headers, accept: 'text/event-stream' }, signal: call.signal, refusesRequest: isAnthropicRequestRefusal });
      const converter = createAnthropicStreamConverter({ model: request.model });
      return convertVendorStream(id, events, { push: (event) => converter.push({ event: event.event ?? 'message', data: parseEventData(event.data) }), end: () => converter.end() }, isAnthropicRequestRefusal);
    },
    async probe(call: CallOptions = {}) {
      // Listing one model costs no tokens and proves the key, the network and the API answer.
      await callJson(http, id, 'GET', '/v1/models?limit=1', { headers, signal: call.signal });
    },
    batch: createAnthropicBatchAdapter({ provider: id, http, headers, defaultMaxTokens: config.default_max_tokens }),
    close: () => http.close(),
  };
}
