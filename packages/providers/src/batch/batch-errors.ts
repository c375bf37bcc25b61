import { classifyHttpError, type RequestRefusalTest } from '../http/classify-error.ts';
import { ProviderError } from '../provider-error.ts';

/**
 * The error of one failed batch line, classified exactly as a real-time answer with that status and
 * body would be: a 400 is fatal, a context-length message is `context_length`, 429 and 5xx are
 * retryable, and a 401/403 keeps none of the provider's text.
 */
export function lineError(provider: string, status: number, body: unknown, refusesRequest?: RequestRefusalTest): ProviderError {
  const text = typeof body === 'string' ? body : JSON.stringify(body ?? {});
  return classifyHttpError(provider, { status, headers: {}, body: text }, refusesRequest);
}

/** Results were asked of a batch the provider is still working on: later they will be there. */
export function notFinishedError(provider: string, id: string): ProviderError {
  return new ProviderError(`${provider}: batch ${id} has not finished: no results yet`, { kind: 'retryable', provider, status: null, code: 'provider_batch_not_finished' });
}

/**
 * A submission Sluice itself got wrong (an id the provider forbids, two models in one Gemini
 * batch): fatal, since sending it again fails again.
 */
export function badSubmissionError(provider: string, message: string): ProviderError {
  return new ProviderError(`${provider}: ${message}`, { kind: 'fatal', provider, status: null, code: 'provider_batch_rejected' });
}

/**
 * A provider batch id as one URL path segment. Ids come back from Sluice's own store, but a
 * segment that could hold `/` or `?` would let a bad one reach another endpoint with the key.
 */
export const batchIdSegment = (id: string): string => encodeURIComponent(id);
