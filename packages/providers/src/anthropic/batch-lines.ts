import { createHash } from 'node:crypto';
import { badSubmissionError, lineError } from '../batch/batch-errors.ts';
import { parseWireBody } from '../http/json-call.ts';
import type { BatchLineResult, BatchRequest, ProviderBatchStatus } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import type { AnthropicBatch, AnthropicBatchLine } from './batch-wire-schemas.ts';
import { fromAnthropicMessage } from './convert-response.ts';
import { isAnthropicRequestRefusal } from './request-refusal.ts';
import { AnthropicMessageSchema } from './wire-schemas.ts';
import { ANTHROPIC_ERROR_STATUS } from './error-status.ts';

const CUSTOM_ID = /^[a-zA-Z0-9_-]{1,64}$/;
/** `s` + 12 hex characters of the key's SHA-256 + `_`: what every custom_id of a Sluice batch starts with. */
const TAG = /^s[0-9a-f]{12}_/;

/**
 * The prefix that marks every custom_id of the batch labelled `key`. Message Batches carry no
 * metadata, so the custom_ids are the only place a label can travel with the batch; a hash keeps
 * it short (14 characters) and free of characters the id pattern forbids.
 */
export const keyTag = (key: string): string => `s${createHash('sha256').update(key).digest('hex').slice(0, 12)}_`;

/** The requests' custom_ids, each prefixed with the key's tag; a fatal error when one would break the provider's id pattern. */
export function taggedIds(provider: string, key: string, requests: readonly BatchRequest[]): string[] {
  const tag = keyTag(key);
  return requests.map(({ custom_id }) => {
    const tagged = `${tag}${custom_id}`;
    if (!CUSTOM_ID.test(tagged)) throw badSubmissionError(provider, `custom_id "${custom_id.slice(0, 80)}" must match ^[a-zA-Z0-9_-]{1,${64 - tag.length}}$`);
    return tagged;
  });
}

/** Sluice's custom_id of a result line: its tag removed. */
export const untagged = (customId: string): string => customId.replace(TAG, '');

/** Whether a result line's custom_id carries the tag of `key`. */
export const hasTag = (customId: string, key: string): boolean => customId.startsWith(keyTag(key));

/**
 * A batch in Sluice's words. Counts other than `processing` stay 0 until the batch ends, so the end
 * state comes from them then: some lines canceled → `canceled`, else some expired → `expired`
 * (either way the finished lines have results), else `completed`.
 */
export function toBatchStatus(batch: AnthropicBatch): ProviderBatchStatus {
  const { processing, succeeded, errored, canceled, expired } = batch.request_counts;
  const counts = { total: processing + succeeded + errored + canceled + expired, succeeded, errored };
  if (batch.processing_status !== 'ended') return { id: batch.id, state: 'in_progress', counts, error: null };
  const state = canceled > 0 ? 'canceled' : expired > 0 ? 'expired' : 'completed';
  return { id: batch.id, state, counts, error: null };
}

/** One result line as a result: a message converted as `complete()` converts it, or an embedded error classified like a real-time one. */
export function fromBatchLine(provider: string, line: AnthropicBatchLine): BatchLineResult {
  const custom_id = untagged(line.custom_id);
  const { result } = line;
  if (result.type === 'canceled' || result.type === 'expired') return { custom_id, outcome: result.type };
  if (result.type === 'errored') {
    const status = ANTHROPIC_ERROR_STATUS[result.error.error.type] ?? 500;
    return { custom_id, outcome: 'errored', error: lineError(provider, status, result.error, isAnthropicRequestRefusal) };
  }
  try {
    const message = parseWireBody(provider, { status: 200, headers: {}, body: JSON.stringify(result.message ?? null) }, AnthropicMessageSchema);
    return { custom_id, outcome: 'succeeded', result: { completion: fromAnthropicMessage(message), statusCode: 200 } };
  } catch (caught) {
    if (caught instanceof ProviderError) return { custom_id, outcome: 'errored', error: caught };
    throw caught;
  }
}
