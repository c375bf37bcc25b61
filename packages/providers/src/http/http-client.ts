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

/** A response whose body is read as it arrives; the call's timeout and signal stay armed until `close`. */
export interface StreamingHttpResponse {
  status: number;
  headers: Headers;
  /** The body's bytes as they come; a failed read throws ProviderError (`timeout`, `canceled`, or `retryable`). */
  body: AsyncIterable<Uint8Array>;
  /**
   * Ends the call and disarms its timer. A body not read to its end is dropped with its connection,
   * which stops the provider's work; with `drain` (the stream's end marker came) the rest is read
   * and discarded for a moment instead, so the keep-alive connection is reused. Idempotent.
   */
  close(options?: { drain?: boolean }): void;
}

export interface HttpClient {
  request(method: 'GET' | 'POST', path: string, options: HttpRequestOptions): Promise<HttpResponse>;
  /** Like `request`, but the body is read by the caller, and the timeout covers the call until `close`. */
  stream(method: 'GET' | 'POST', path: string, options: HttpRequestOptions): Promise<StreamingHttpResponse>;
  close(): Promise<void>;
}

/** How long a body is drained after its stream ended before the connection is dropped. */
const DRAIN_MS = 1000;

interface Call {
  signal: AbortSignal;
  /** The ProviderError a failure of this call is reported as. */
  failure(error: unknown): ProviderError;
  dispose(): void;
}

/**
 * One controller and one timer per call: AbortSignal.timeout + AbortSignal.any cost several times
 * more on Node 20, and this runs for every job.
 */
function startCall(provider: string, timeoutMs: number, signal: AbortSignal | undefined): Call {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new Error('timeout'));
  }, timeoutMs);
  const onAbort = (): void => controller.abort(signal?.reason);
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
  return {
    signal: controller.signal,
    failure(error) {
      if (error instanceof ProviderError) return error;
      if (timedOut) {
        return new ProviderError(`${provider}: no complete response within ${timeoutMs} ms`, { kind: 'timeout', provider, status: null, cause: error });
      }
      if (signal?.aborted) return new ProviderError(`${provider}: request aborted`, { kind: 'canceled', provider, status: null, cause: error });
      const code = (error as { code?: string }).code ?? (error as Error).name;
      return new ProviderError(`${provider}: network error ${code}`, { kind: 'retryable', provider, status: null, cause: error });
    },
    dispose() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    },
  };
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
  const send = (method: 'GET' | 'POST', path: string, { body, headers }: HttpRequestOptions, signal: AbortSignal) =>
    pool.request({
      method,
      path: `${basePath}${path}${base.search}`,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body,
      signal,
    });

  return {
    async request(method, path, request) {
      const call = startCall(options.provider, request.timeoutMs ?? options.timeoutMs, request.signal);
      try {
        const response = await send(method, path, request, call.signal);
        const text = await response.body.text();
        return { status: response.statusCode, headers: response.headers as Headers, body: text };
      } catch (error) {
        throw call.failure(error);
      } finally {
        call.dispose();
      }
    },
    async stream(method, path, request) {
      const call = startCall(options.provider, request.timeoutMs ?? options.timeoutMs, request.signal);
      const response = await send(method, path, request, call.signal).catch((error: unknown) => {
        call.dispose();
        throw call.failure(error);
      });
      const read = async function* (): AsyncGenerator<Uint8Array> {
        try {
          // Not destroyed on an early return: `close` decides whether to drain or drop the connection.
          for await (const chunk of response.body.iterator({ destroyOnReturn: false })) yield chunk as Uint8Array;
        } catch (error) {
          throw call.failure(error);
        }
      };
      return {
        status: response.statusCode,
        headers: response.headers as Headers,
        body: read(),
        close({ drain = false } = {}) {
          call.dispose();
          const { body } = response;
          if (body.readableEnded || body.destroyed) return;
          // Nobody reads the body any more: its abort error is expected, not unhandled.
          body.on('error', () => undefined);
          if (!drain) {
            body.destroy();
            return;
          }
          // Whatever follows the end marker is usually nothing but the body's end; a server that
          // keeps it open loses the connection after DRAIN_MS.
          const guard = setTimeout(() => body.destroy(), DRAIN_MS);
          body.once('close', () => clearTimeout(guard));
          body.resume();
        },
      };
    },
    close: () => pool.close(),
  };
}
