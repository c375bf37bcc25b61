import { badSubmissionError, batchIdSegment, notFinishedError } from '../batch/batch-errors.ts';
import { cursorPage, findInPages, type BatchPage } from '../batch/find-in-pages.ts';
import { parseJsonLines } from '../batch/jsonl.ts';
import type { HttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type BatchAdapter, type BatchLineResult, type CallOptions } from '../provider-adapter.ts';
import { fromBatchLine, hasTag, taggedIds, toBatchStatus } from './batch-lines.ts';
import { AnthropicBatchLineSchema, AnthropicBatchListSchema, AnthropicBatchSchema, type AnthropicBatch } from './batch-wire-schemas.ts';
import { toAnthropicRequest } from './convert-request.ts';
import { isAnthropicRequestRefusal } from './request-refusal.ts';

export interface AnthropicBatchOptions {
  provider: string;
  http: HttpClient;
  /** Every header of a real-time call, the key's included. */
  headers: Record<string, string>;
  /** `max_tokens` for a request that names none, as in `complete()`. */
  defaultMaxTokens: number;
}

/** `find` looks at batches created this recently: a lookup follows a crash soon after a submission. */
const FIND_LOOKBACK_MS = 48 * 3_600_000;
/** ... and downloads the results of at most this many of them. */
const FIND_MAX_RESULT_READS = 10;

const BATCHES = '/v1/messages/batches';

/**
 * Anthropic's Message Batches API. Each request's `params` is exactly the body `complete()` posts.
 *
 * How far `find(key)` can be trusted: a Message Batch carries no metadata, and nothing of a batch
 * but its counts and times can be read until it has ended. So `submit` prefixes every custom_id
 * with a tag derived from the key (`keyTag`; `results` strips it again), and `find` reads the
 * results of the ended, unarchived batches created in the last 48 hours (at most 10 of them),
 * returning the one whose custom_ids carry the tag. A batch still in progress cannot be told from
 * any other: `find` returns null for it. It never returns a batch it has not verified, so the
 * failure is a second submission of the same requests (billed twice, each line's results still
 * matched by custom_id), never results read from someone else's batch.
 */
export function createAnthropicBatchAdapter(options: AnthropicBatchOptions): BatchAdapter {
  const { provider, http, headers } = options;
  const download = { ...headers, accept: 'application/binary' };
  const getBatch = async (id: string, call: CallOptions): Promise<AnthropicBatch> =>
    parseWireBody(provider, await callJson(http, provider, 'GET', `${BATCHES}/${batchIdSegment(id)}`, { headers: callHeaders(headers, call), signal: call.signal }), AnthropicBatchSchema);
  // The batch's own path, never `results_url` as given: the key goes to no host but the configured one.
  const resultsText = async (id: string, call: CallOptions): Promise<string> =>
    (await callJson(http, provider, 'GET', `${BATCHES}/${batchIdSegment(id)}/results`, { headers: callHeaders(download, call), signal: call.signal })).body;

  const listPage = async (after: string | null, since: number, signal?: AbortSignal): Promise<BatchPage<AnthropicBatch>> => {
    const query = after === null ? '' : `&after_id=${encodeURIComponent(after)}`;
    const page = parseWireBody(provider, await callJson(http, provider, 'GET', `${BATCHES}?limit=100${query}`, { headers, signal }), AnthropicBatchListSchema);
    const { items, next } = cursorPage(page);
    // Newest first: past the first batch older than the lookback, there is nothing left to read.
    const recent = items.filter((batch) => batch.created_at === undefined || Date.parse(batch.created_at) >= since);
    return { items: recent, next: recent.length === items.length ? next : null };
  };

  async function* results(id: string, call: CallOptions = {}): AsyncIterable<BatchLineResult> {
    const batch = await getBatch(id, call);
    if (batch.processing_status !== 'ended') throw notFinishedError(provider, id);
    const text = await resultsText(id, call);
    for (const line of parseJsonLines(provider, text, AnthropicBatchLineSchema)) yield fromBatchLine(provider, line);
  }

  return {
    async submit(key, requests, call: CallOptions = {}) {
      if (requests.length === 0) throw badSubmissionError(provider, 'a batch needs at least one request');
      const ids = taggedIds(provider, key, requests);
      const body = { requests: requests.map(({ request }, index) => ({ custom_id: ids[index], params: toAnthropicRequest(request, options.defaultMaxTokens) })) };
      const created = await callJson(http, provider, 'POST', BATCHES, { body, headers: callHeaders(headers, call), signal: call.signal, refusesRequest: isAnthropicRequestRefusal });
      return parseWireBody(provider, created, AnthropicBatchSchema).id;
    },
    async find(key, call: CallOptions = {}) {
      const since = Date.now() - FIND_LOOKBACK_MS;
      let reads = 0;
      const found = await findInPages(
        (after) => listPage(after, since, call.signal),
        async (batch) => {
          if (batch.processing_status !== 'ended' || !batch.results_url || batch.archived_at || reads >= FIND_MAX_RESULT_READS) return false;
          reads += 1;
          const first = parseJsonLines(provider, await resultsText(batch.id, call), AnthropicBatchLineSchema).next();
          return first.done !== true && hasTag(first.value.custom_id, key);
        },
      );
      return found?.id ?? null;
    },
    async status(id, call: CallOptions = {}) {
      return toBatchStatus(await getBatch(id, call));
    },
    results,
    async cancel(id, call: CallOptions = {}) {
      await callJson(http, provider, 'POST', `${BATCHES}/${batchIdSegment(id)}/cancel`, { headers, signal: call.signal });
    },
  };
}
