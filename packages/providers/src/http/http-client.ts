import { Pool } from 'undici';
import { ProviderError } from '../provider-error.ts';
import type { Headers } from './retry-after.ts';

export interface HttpResponse {
  status: number;
  headers: Headers;
  body: string;
}

export interface HttpClientOptions {
  /** Provider id, for errors. */
  provider: string;
  /** Base URL; its path (e.g. `/v1`) prefixes every request path. */
  baseUrl: string;
  /** Keep-alive connections in the pool. Default 16. */
  connections?: number;
  /** Limit of one request, headers and body included. */
  timeoutMs: number;
}

export interface HttpRequestOptions {
  body?: string;
  headers: Record<string, string>;
  signal?: AbortSignal | undefined;
  /** This request's limit instead of the client's `timeoutMs` (a slower tier's calls). Default: the client's. */
  timeoutMs?: number | undefined;
}

export interface HttpClient {
  request(method: 'GET' | 'POST', path: string, options: HttpRequestOptions): Promise<HttpResponse>;
  close(): Promise<void>;
}

/**
 * A keep-alive undici Pool per provider origin: reusing connections costs about a third of the
 * CPU of Node's global fetch per call on these machines (README "Performance").
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const base = new URL(options.baseUrl);
  const basePath = base.pathname.replace(/\/+$/, '');
  const pool = new Pool(base.origin, {
    connections: options.connections ?? 16,
    keepAliveTimeout: 30_000,
    headersTimeout: 0,
    bodyTimeout: 0,
  });

  return {
    async request(method, path, { body, headers, signal, timeoutMs: callTimeoutMs }) {
      const timeoutMs = callTimeoutMs ?? options.timeoutMs;
      // One controller and one timer per call: AbortSignal.timeout + AbortSignal.any cost several
      // times more on Node 20, and this runs for every job.
      const controller = new AbortController();
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        controller.abort(new Error('timeout'));
      }, timeoutMs);
      const onAbort = (): void => controller.abort(signal?.reason);
      if (signal?.aborted) onAbort();
      else signal?.addEventListener('abort', onAbort, { once: true });
      const combined = controller.signal;
      try {
        const response = await pool.request({
          method,
          path: `${basePath}${path}${base.search}`,
          headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
          body,
          signal: combined,
        });
        const text = await response.body.text();
        return { status: response.statusCode, headers: response.headers as Headers, body: text };
      } catch (error) {
        if (timedOut) {
          throw new ProviderError(`${options.provider}: no complete response within ${timeoutMs} ms`, {
            kind: 'timeout', provider: options.provider, status: null, cause: error,
          });
        }
        if (signal?.aborted) {
          throw new ProviderError(`${options.provider}: request aborted`, { kind: 'canceled', provider: options.provider, status: null, cause: error });
        }
        const code = (error as { code?: string }).code ?? (error as Error).name;
        throw new ProviderError(`${options.provider}: network error ${code}`, { kind: 'retryable', provider: options.provider, status: null, cause: error });
      } finally {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
      }
    },
    close: () => pool.close(),
  };
}
