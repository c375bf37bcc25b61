import { lineError } from '../batch/batch-errors.ts';
import { parseWireBody } from '../http/json-call.ts';
import type { BatchLineResult, ProviderBatchStatus } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import type { GeminiBatchOperation, GeminiStatus } from './batch-wire-schemas.ts';
import { fromGeminiResponse } from './convert-response.ts';
import { isGeminiRequestRefusal } from './request-refusal.ts';
import { GeminiResponseSchema } from './wire-schemas.ts';

const STATES: Record<string, ProviderBatchStatus['state']> = {
  PENDING: 'in_progress',
  QUEUED: 'in_progress',
  RUNNING: 'in_progress',
  CANCELLING: 'in_progress',
  SUCCEEDED: 'completed',
  PARTIALLY_SUCCEEDED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'canceled',
  EXPIRED: 'expired',
};

/** The batch's state, `BATCH_STATE_*` (REST) or `JOB_STATE_*` (what the SDKs and some guides show); unknown is still in progress. */
export function stateOf(operation: GeminiBatchOperation): ProviderBatchStatus['state'] {
  const raw = operation.metadata?.state ?? operation.state ?? '';
  return STATES[raw.replace(/^(BATCH|JOB)_STATE_/, '')] ?? 'in_progress';
}

/** A batch operation in Sluice's words. */
export function toBatchStatus(operation: GeminiBatchOperation): ProviderBatchStatus {
  const state = stateOf(operation);
  const stats = operation.metadata?.batchStats;
  const counts = stats?.requestCount === undefined ? null : { total: stats.requestCount, succeeded: stats.successfulRequestCount ?? 0, errored: stats.failedRequestCount ?? 0 };
  return { id: operation.name, state, counts, error: state === 'failed' ? (operation.error?.message ?? 'the batch failed') : null };
}

/** The HTTP status a real-time call answers with each canonical (gRPC) code, so a line's error is classified like one. */
const HTTP_OF_CODE: Record<number, number> = { 1: 499, 2: 500, 3: 400, 4: 504, 5: 404, 6: 409, 7: 403, 8: 429, 9: 400, 10: 409, 11: 400, 12: 501, 13: 500, 14: 503, 15: 500, 16: 401 };
const CODE_OF_NAME: Record<string, number> = {
  CANCELLED: 1, UNKNOWN: 2, INVALID_ARGUMENT: 3, DEADLINE_EXCEEDED: 4, NOT_FOUND: 5, ALREADY_EXISTS: 6, PERMISSION_DENIED: 7, RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9, ABORTED: 10, OUT_OF_RANGE: 11, UNIMPLEMENTED: 12, INTERNAL: 13, UNAVAILABLE: 14, DATA_LOSS: 15, UNAUTHENTICATED: 16,
};

/** A line's `google.rpc.Status` as the error a real-time answer with it would be (the body shaped as the API's error bodies are). */
export function statusError(provider: string, status: GeminiStatus): ProviderError {
  const code = status.code ?? CODE_OF_NAME[status.status ?? ''] ?? 2;
  // An HTTP status given in `code` (some writers do) is taken as it is.
  const http = code >= 100 ? code : (HTTP_OF_CODE[code] ?? 500);
  return lineError(provider, http, { error: status }, isGeminiRequestRefusal);
}

/** One result (inline or a file line) as a result line: converted as `complete()` converts a response, or its error classified. */
export function toLineResult(provider: string, custom_id: string, line: { response?: unknown; error?: GeminiStatus | undefined }, model: string): BatchLineResult {
  if (line.error !== undefined) return { custom_id, outcome: 'errored', error: statusError(provider, line.error) };
  try {
    const response = parseWireBody(provider, { status: 200, headers: {}, body: JSON.stringify(line.response ?? null) }, GeminiResponseSchema);
    return { custom_id, outcome: 'succeeded', result: { completion: fromGeminiResponse(response, model), statusCode: 200 } };
  } catch (caught) {
    if (caught instanceof ProviderError) return { custom_id, outcome: 'errored', error: caught };
    throw caught;
  }
}
