import { badSubmissionError, batchIdSegment, notFinishedError } from '../batch/batch-errors.ts';
import { cursorPage, findInPages } from '../batch/find-in-pages.ts';
import { parseJsonLines } from '../batch/jsonl.ts';
import type { RequestRefusalTest } from '../http/classify-error.ts';
import { createHttpClient } from '../http/http-client.ts';
import { callJson, ensureOk, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type BatchLineResult, type CallOptions } from '../provider-adapter.ts';
import type { ClosableBatchAdapter } from '../batch/closable-batch-adapter.ts';
import { batchFileUpload, CHAT_ENDPOINT, fromBatchLine, toBatchJsonl, toBatchStatus } from './batch-lines.ts';
import { OpenAIBatchLineSchema, OpenAIBatchListSchema, OpenAIBatchSchema, OpenAIFileSchema, type OpenAIBatch } from './batch-wire-schemas.ts';

export interface OpenAIBatchOptions {
  id: string;
  baseUrl: string;
  /** Every header of a real-time call, the key's `authorization` included. */
  headers: Record<string, string>;
  timeoutMs: number;
  refusesRequest: RequestRefusalTest;
}

/** The metadata key that carries Sluice's label of a submission, for `find`. */
export const SLUICE_KEY = 'sluice_key';

/**
 * OpenAI's Batch API for chat completions: the requests go up as a JSONL file (`POST /files`), the
 * batch names it (`POST /batches`) and carries the key in its metadata, so `find` can tell it
 * among the newest batches, in progress or not. Results are the output file (successes) and the
 * error file (failures, and lines that never ran).
 */
export function createOpenAIBatchAdapter(options: OpenAIBatchOptions): ClosableBatchAdapter {
  const { id: provider, headers, refusesRequest } = options;
  // Its own small pool: polls and downloads never queue behind real-time calls.
  const http = createHttpClient({ provider, baseUrl: options.baseUrl, timeoutMs: options.timeoutMs, connections: 2 });
  const getBatch = async (id: string, call: CallOptions): Promise<OpenAIBatch> =>
    parseWireBody(provider, await callJson(http, provider, 'GET', `/batches/${batchIdSegment(id)}`, { headers: callHeaders(headers, call), signal: call.signal }), OpenAIBatchSchema);
  const download = async (fileId: string, call: CallOptions): Promise<string> =>
    (await callJson(http, provider, 'GET', `/files/${batchIdSegment(fileId)}/content`, { headers: { ...headers, ...call.headers, accept: 'application/binary' }, signal: call.signal })).body;

  async function* results(id: string, call: CallOptions = {}): AsyncIterable<BatchLineResult> {
    const batch = await getBatch(id, call);
    if (toBatchStatus(batch).state === 'in_progress') throw notFinishedError(provider, id);
    for (const fileId of [batch.output_file_id, batch.error_file_id]) {
      if (!fileId) continue;
      const text = await download(fileId, call);
      for (const line of parseJsonLines(provider, text, OpenAIBatchLineSchema)) yield fromBatchLine(provider, line, batch.model ?? 'unknown', refusesRequest);
    }
  }

  return {
    async submit(key, requests, call: CallOptions = {}) {
      if (requests.length === 0) throw badSubmissionError(provider, 'a batch needs at least one request');
      const upload = batchFileUpload(toBatchJsonl(requests));
      const uploaded = await http.request('POST', '/files', { body: upload.body, headers: { ...headers, ...call.headers, 'content-type': upload.contentType }, signal: call.signal });
      const file = parseWireBody(provider, ensureOk(provider, uploaded, refusesRequest), OpenAIFileSchema);
      const body = { input_file_id: file.id, endpoint: CHAT_ENDPOINT, completion_window: '24h', metadata: { [SLUICE_KEY]: key } };
      const created = await callJson(http, provider, 'POST', '/batches', { body, headers: callHeaders(headers, call), signal: call.signal, refusesRequest });
      return parseWireBody(provider, created, OpenAIBatchSchema).id;
    },
    async find(key, call: CallOptions = {}) {
      const found = await findInPages(
        async (after) => {
          const query = after === null ? '' : `&after=${encodeURIComponent(after)}`;
          const page = parseWireBody(provider, await callJson(http, provider, 'GET', `/batches?limit=100${query}`, { headers, signal: call.signal }), OpenAIBatchListSchema);
          return cursorPage(page);
        },
        (batch) => batch.metadata?.[SLUICE_KEY] === key,
      );
      return found?.id ?? null;
    },
    async status(id, call: CallOptions = {}) {
      return toBatchStatus(await getBatch(id, call));
    },
    results,
    async cancel(id, call: CallOptions = {}) {
      await callJson(http, provider, 'POST', `/batches/${batchIdSegment(id)}/cancel`, { headers, signal: call.signal });
    },
    close: () => http.close(),
  };
}
