import { badSubmissionError, batchIdSegment, notFinishedError } from '../batch/batch-errors.ts';
import type { ClosableBatchAdapter } from '../batch/closable-batch-adapter.ts';
import { findInPages } from '../batch/find-in-pages.ts';
import { parseJsonLines } from '../batch/jsonl.ts';
import { createHttpClient, type HttpClient } from '../http/http-client.ts';
import { callJson, parseWireBody } from '../http/json-call.ts';
import { callHeaders, type BatchLineResult, type BatchRequest, type CallOptions } from '../provider-adapter.ts';
import { ProviderError } from '../provider-error.ts';
import { toLineResult, stateOf, toBatchStatus } from './batch-lines.ts';
import { GeminiBatchListSchema, GeminiBatchOperationSchema, GeminiResultLineSchema, type GeminiBatchOperation } from './batch-wire-schemas.ts';
import { toGeminiRequest } from './convert-request.ts';
import { isGeminiRequestRefusal } from './request-refusal.ts';

export interface GeminiBatchOptions {
  provider: string;
  http: HttpClient;
  /** The configured `base_url`: results files download from `/download` + its path on the same origin. */
  baseUrl: string;
  timeoutMs: number;
  /** Every header of a real-time call, the key's included. */
  headers: Record<string, string>;
}

/** `models/gemini-2.5-flash` or `gemini-2.5-flash` → `gemini-2.5-flash`. */
const bareModel = (model: string): string => model.replace(/^models\//, '');
/** `batches/123` or `123` → the path of that batch. */
const batchPath = (id: string): string => `/batches/${batchIdSegment(id.replace(/^batches\//, ''))}`;

/** The model of a submission: the caller sends one model per batch, which is all Gemini takes. */
function modelOf(provider: string, requests: readonly BatchRequest[]): string {
  const models = new Set(requests.map(({ request }) => bareModel(request.model)));
  const [model] = models;
  if (model === undefined || models.size !== 1) throw badSubmissionError(provider, `a batch holds exactly one model, not ${models.size}`);
  return model;
}

/**
 * Gemini's batch mode: the requests go inline (`:batchGenerateContent`), each the body `complete()`
 * posts, with its custom_id as `metadata.key`; the key is the batch's `display_name`, which `find`
 * matches, in progress or not. Results are read inline from the finished operation, or from its
 * results file when it names one. An expired Gemini batch has no results at all.
 */
export function createGeminiBatchAdapter(options: GeminiBatchOptions): ClosableBatchAdapter {
  const { provider, http, headers } = options;
  const base = new URL(options.baseUrl);
  const downloads = createHttpClient({ provider, baseUrl: `${base.origin}/download${base.pathname}`, timeoutMs: options.timeoutMs, connections: 1 });
  const getBatch = async (id: string, call: CallOptions): Promise<GeminiBatchOperation> =>
    parseWireBody(provider, await callJson(http, provider, 'GET', batchPath(id), { headers: callHeaders(headers, call), signal: call.signal }), GeminiBatchOperationSchema);

  async function* fileResults(file: string, model: string, call: CallOptions): AsyncIterable<BatchLineResult> {
    if (!/^files\/[A-Za-z0-9_-]+$/.test(file)) throw new ProviderError(`${provider}: malformed results file name`, { kind: 'retryable', provider, status: 200, body: file });
    const text = (await callJson(downloads, provider, 'GET', `/${file}:download?alt=media`, { headers: callHeaders(headers, call), signal: call.signal })).body;
    for (const line of parseJsonLines(provider, text, GeminiResultLineSchema)) {
      // A line without its key cannot be matched to a request: the caller treats its request as unreported.
      if (line.key !== undefined) yield toLineResult(provider, line.key, { response: line.response, error: line.error ?? line.status }, model);
    }
  }

  async function* results(id: string, call: CallOptions = {}): AsyncIterable<BatchLineResult> {
    const operation = await getBatch(id, call);
    if (stateOf(operation) === 'in_progress') throw notFinishedError(provider, id);
    const output = operation.response ?? operation.metadata?.output;
    const model = bareModel(operation.metadata?.model ?? 'unknown');
    for (const inline of output?.inlinedResponses?.inlinedResponses ?? []) {
      const key = inline.metadata?.key;
      if (key !== undefined) yield toLineResult(provider, key, inline, model);
    }
    if (output?.responsesFile !== undefined) yield* fileResults(output.responsesFile, model, call);
  }

  return {
    async submit(key, requests, call: CallOptions = {}) {
      const model = modelOf(provider, requests);
      const inline = requests.map(({ custom_id, request }) => ({ request: toGeminiRequest(request), metadata: { key: custom_id } }));
      const body = { batch: { display_name: key, input_config: { requests: { requests: inline } } } };
      const path = `/models/${encodeURIComponent(model)}:batchGenerateContent`;
      const created = await callJson(http, provider, 'POST', path, { body, headers: callHeaders(headers, call), signal: call.signal, refusesRequest: isGeminiRequestRefusal });
      return parseWireBody(provider, created, GeminiBatchOperationSchema).name;
    },
    async find(key, call: CallOptions = {}) {
      const found = await findInPages(
        async (token) => {
          const query = token === null ? '' : `&pageToken=${encodeURIComponent(token)}`;
          const page = parseWireBody(provider, await callJson(http, provider, 'GET', `/batches?pageSize=100${query}`, { headers, signal: call.signal }), GeminiBatchListSchema);
          return { items: page.operations ?? page.batches ?? [], next: page.nextPageToken || null };
        },
        (operation) => operation.metadata?.displayName === key,
      );
      return found?.name ?? null;
    },
    async status(id, call: CallOptions = {}) {
      return toBatchStatus(await getBatch(id, call));
    },
    results,
    async cancel(id, call: CallOptions = {}) {
      await callJson(http, provider, 'POST', `${batchPath(id)}:cancel`, { headers, signal: call.signal });
    },
    close: () => downloads.close(),
  };
}
