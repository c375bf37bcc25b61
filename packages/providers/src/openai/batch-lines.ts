import { randomUUID } from 'node:crypto';
import { lineError } from '../batch/batch-errors.ts';
import type { RequestRefusalTest } from '../http/classify-error.ts';
import { parseWireBody } from '../http/json-call.ts';
import { normalizeOpenAIResponse } from '../openai-compatible/normalize.ts';
import { OpenAIChatResponseSchema } from '../openai-compatible/wire-schemas.ts';
import type { BatchLineResult, BatchRequest, ProviderBatchStatus } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import type { OpenAIBatch, OpenAIBatchLine } from './batch-wire-schemas.ts';

/** The endpoint every line of a Sluice batch calls (one endpoint per batch file). */
export const CHAT_ENDPOINT = '/v1/chat/completions';

/** The batch input file: one line per request, its body exactly what `complete()` posts. */
export function toBatchJsonl(requests: readonly BatchRequest[]): string {
  return requests
    .map(({ custom_id, request }) => JSON.stringify({ custom_id, method: 'POST', url: CHAT_ENDPOINT, body: { ...request.params, model: request.model, messages: request.messages } }))
    .join('\n');
}

/** A `multipart/form-data` upload of `jsonl` with `purpose=batch`, and its content type. */
export function batchFileUpload(jsonl: string): { body: string; contentType: string } {
  // A random boundary cannot occur in the JSON lines by chance.
  const boundary = `sluice-${randomUUID()}`;
  const body = [
    `--${boundary}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`,
    `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="batch.jsonl"\r\nContent-Type: application/jsonl\r\n\r\n${jsonl}\r\n`,
    `--${boundary}--\r\n`,
  ].join('');
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

const STATES: Record<string, ProviderBatchStatus['state']> = {
  validating: 'in_progress',
  in_progress: 'in_progress',
  finalizing: 'in_progress',
  cancelling: 'in_progress',
  completed: 'completed',
  expired: 'expired',
  cancelled: 'canceled',
  failed: 'failed',
};

/** A batch object in Sluice's words; an unknown status is taken as still in progress (polled again later). */
export function toBatchStatus(batch: OpenAIBatch): ProviderBatchStatus {
  const state = STATES[batch.status] ?? 'in_progress';
  const counts = batch.request_counts;
  const first = batch.errors?.data?.[0];
  return {
    id: batch.id,
    state,
    counts: counts ? { total: counts.total, succeeded: counts.completed, errored: counts.failed } : null,
    error: state === 'failed' ? (first?.message ?? first?.code ?? 'the batch failed') : null,
  };
}

/**
 * One output or error line as a result: a 2xx response normalized exactly as `complete()`
 * normalizes a chat completion; another status classified as a real-time answer with it would be;
 * `batch_expired` / `batch_cancelled` mean the line never ran.
 */
export function fromBatchLine(provider: string, line: OpenAIBatchLine, model: string, refusesRequest: RequestRefusalTest): BatchLineResult {
  const { custom_id, response, error } = line;
  if (error?.code === 'batch_expired') return { custom_id, outcome: 'expired' };
  if (error?.code === 'batch_cancelled') return { custom_id, outcome: 'canceled' };
  if (response) {
    const body = JSON.stringify(response.body ?? null);
    if (response.status_code < 200 || response.status_code >= 300) return { custom_id, outcome: 'errored', error: lineError(provider, response.status_code, body, refusesRequest) };
    try {
      const parsed = parseWireBody(provider, { status: response.status_code, headers: {}, body }, OpenAIChatResponseSchema);
      return { custom_id, outcome: 'succeeded', result: { completion: normalizeOpenAIResponse(parsed, model), statusCode: response.status_code } };
    } catch (caught) {
      if (caught instanceof ProviderError) return { custom_id, outcome: 'errored', error: caught };
      throw caught;
    }
  }
  // No response at all: the provider's own call failed (`request_timeout` and the like).
  const kind = error?.code === 'request_timeout' ? 'timeout' : 'retryable';
  const message = `${provider}: batch line failed: ${error?.code ?? 'no response'}${error?.message ? `: ${error.message}` : ''}`;
  return { custom_id, outcome: 'errored', error: new ProviderError(message, { kind, provider, status: null }) };
}
