import type { z } from 'zod';
import { ProviderError } from '../provider-error.ts';
import { classifyHttpError, embeddedErrorMessage, withheldMessage, type RequestRefusalTest } from './classify-error.ts';
import type { HttpClient, HttpResponse } from './http-client.ts';

/**
 * One HTTP attempt that throws the classified ProviderError on any non-2xx answer.
 * `refusesRequest` is the wire format's test for a 403 about the request rather than the key;
 * without it every 403 is about the key (right for probes, which carry no request to refuse).
 * `timeoutMs` replaces the client's limit for this attempt.
 */
export async function callJson(
  http: HttpClient,
  provider: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; headers: Record<string, string>; signal?: AbortSignal | undefined; refusesRequest?: RequestRefusalTest; timeoutMs?: number | undefined },
): Promise<HttpResponse> {
  const response = await http.request(method, path, {
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    headers: options.headers,
    signal: options.signal,
    timeoutMs: options.timeoutMs,
  });
  return ensureOk(provider, response, options.refusesRequest);
}

/** The response when it is a 2xx; else throws it as the classified ProviderError (for calls whose body is not JSON, like uploads). */
export function ensureOk(provider: string, response: HttpResponse, refusesRequest?: RequestRefusalTest): HttpResponse {
  if (response.status < 200 || response.status >= 300) throw classifyHttpError(provider, response, refusesRequest);
  return response;
}

/**
 * Reads a 2xx body with the wire schema. A body that is not JSON, or is JSON of another shape (a
 * 200 carrying an error object, say), is a retryable failure: the next attempt may get a good one.
 */
export function parseWireBody<S extends z.ZodType>(provider: string, response: HttpResponse, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(response.body);
  } catch (error) {
    throw new ProviderError(`${provider}: response is not JSON`, { kind: 'retryable', provider, status: response.status, body: response.body, cause: error });
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const hasError = typeof json === 'object' && json !== null && 'error' in json;
  if (hasError) {
    const text = embeddedErrorMessage(response.body);
    // An auth error in a 2xx body is withheld, body and all, like a 401's: it may quote the key.
    const message = `${provider}: error in a ${response.status} body: ${text ?? withheldMessage('authentication or permission error')}`;
    throw new ProviderError(message, { kind: 'retryable', provider, status: response.status, body: text === null ? undefined : response.body });
  }
  const issue = parsed.error.issues[0];
  throw new ProviderError(`${provider}: malformed response: ${issue?.path.join('.')} ${issue?.message}`, { kind: 'retryable', provider, status: response.status, body: response.body });
}
