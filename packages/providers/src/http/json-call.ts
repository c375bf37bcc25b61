import type { z } from 'zod';
import { ProviderError } from '../provider-error.ts';
import { classifyHttpError, errorMessage } from './classify-error.ts';
import type { HttpClient, HttpResponse } from './http-client.ts';

/** One HTTP attempt that throws the classified ProviderError on any non-2xx answer. */
export async function callJson(
  http: HttpClient,
  provider: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; headers: Record<string, string>; signal?: AbortSignal | undefined },
): Promise<HttpResponse> {
  const response = await http.request(method, path, {
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    headers: options.headers,
    signal: options.signal,
  });
  if (response.status < 200 || response.status >= 300) throw classifyHttpError(provider, response);
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
  const issue = parsed.error.issues[0];
  const message = hasError ? `error in a ${response.status} body: ${errorMessage(response.body)}` : `malformed response: ${issue?.path.join('.')} ${issue?.message}`;
  throw new ProviderError(`${provider}: ${message}`, { kind: 'retryable', provider, status: response.status, body: response.body });
}
