import { asEchoRequest, jsonl, notFound, type BatchRoutes, type FakeBatch, type FakeBatchStore, type FakeLineOutcome } from './fake-batch-store.ts';

type Echo = (request: ReturnType<typeof asEchoRequest>) => Record<string, unknown>;

const STATE: Record<FakeBatch['state'], string> = { in_progress: 'BATCH_STATE_RUNNING', canceling: 'BATCH_STATE_RUNNING', completed: 'BATCH_STATE_SUCCEEDED', expired: 'BATCH_STATE_EXPIRED', failed: 'BATCH_STATE_FAILED', canceled: 'BATCH_STATE_CANCELLED' };
/** The canonical code and its name a real-time call's status stands for. */
const CODE_OF_STATUS: Record<number, [number, string]> = { 400: [3, 'INVALID_ARGUMENT'], 401: [16, 'UNAUTHENTICATED'], 403: [7, 'PERMISSION_DENIED'], 404: [5, 'NOT_FOUND'], 429: [8, 'RESOURCE_EXHAUSTED'], 503: [14, 'UNAVAILABLE'], 504: [4, 'DEADLINE_EXCEEDED'] };

/** A line that ran, as Gemini reports it: its response, or its error as a `google.rpc.Status`. */
function resultOf(outcome: FakeLineOutcome): { response?: unknown; error?: unknown } {
  if (outcome.kind === 'succeeded') return { response: outcome.body };
  if (outcome.kind !== 'errored') return {};
  const [code, status] = CODE_OF_STATUS[outcome.error.status] ?? [13, 'INTERNAL'];
  return { error: outcome.error.body ?? { code, message: outcome.error.message, status } };
}

/**
 * Gemini's batch endpoints over the fake's batch store: inline `:batchGenerateContent` (the display
 * name is the label), polls of the operation, lists, cancel, and results inline or (script
 * `resultsFile`) in a file under `/download`. Lines that never ran are not reported, and an
 * expired batch has no results, as Gemini's do.
 */
export function createGeminiBatchRoutes(store: FakeBatchStore, echo: Echo): BatchRoutes {
  const ran = (batch: FakeBatch) =>
    store.outcomes(batch, (line) => echo(asEchoRequest(line.body, `/v1beta/models/${batch.model ?? 'unknown'}:generateContent`))).filter((outcome) => outcome.kind === 'succeeded' || outcome.kind === 'errored');
  const fileName = (batch: FakeBatch): string => `files/results-${batch.id.replace(/^batches\//, '')}`;
  const response = (batch: FakeBatch) => {
    if (batch.state === 'expired' || batch.state === 'failed') return {};
    if (batch.script.resultsFile === true) return { response: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput', responsesFile: fileName(batch) } };
    const inlinedResponses = ran(batch).map((outcome) => ({ ...resultOf(outcome), metadata: { key: outcome.custom_id } }));
    return { response: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatchOutput', inlinedResponses: { inlinedResponses } } };
  };
  const view = (batch: FakeBatch) => {
    const done = batch.state !== 'in_progress' && batch.state !== 'canceling';
    const lines = ran(batch);
    const ok = lines.filter((line) => line.kind === 'succeeded').length;
    const batchStats = { requestCount: String(batch.lines.length), successfulRequestCount: String(ok), failedRequestCount: String(lines.length - ok), pendingRequestCount: String(done ? 0 : batch.lines.length) };
    return {
      name: batch.id,
      metadata: { '@type': 'type.googleapis.com/google.ai.generativelanguage.v1beta.GenerateContentBatch', model: `models/${batch.model ?? 'unknown'}`, displayName: batch.label, state: STATE[batch.state], createTime: new Date(batch.createdAt).toISOString(), batchStats },
      done,
      ...(done ? response(batch) : {}),
      ...(batch.state === 'failed' ? { error: { code: 9, message: batch.script.failure ?? 'scripted batch failure' } } : {}),
    };
  };

  return (request) => {
    const url = new URL(request.path, 'http://fake');
    const path = url.pathname;
    const create = /^\/v1beta\/models\/([^/:]+):batchGenerateContent$/.exec(path);
    if (request.method === 'POST' && create) {
      const body = request.body as { batch?: { display_name?: string; input_config?: { requests?: { requests?: { request: unknown; metadata?: { key?: string } }[] } } } };
      const lines = (body.batch?.input_config?.requests?.requests ?? []).map((line, index) => ({ custom_id: line.metadata?.key ?? String(index), body: line.request }));
      return { body: view(store.create('batches/fake', body.batch?.display_name ?? null, decodeURIComponent(create[1] ?? ''), lines)) };
    }
    if (request.method === 'GET' && path === '/v1beta/batches') {
      const { items, hasMore } = store.page(url.searchParams.get('pageToken'), Number(url.searchParams.get('pageSize') ?? 20));
      return { body: { operations: items.map(view), ...(hasMore ? { nextPageToken: items.at(-1)?.id } : {}) } };
    }
    const download = /^\/download\/v1beta\/files\/results-([^/:]+):download$/.exec(path);
    if (request.method === 'GET' && download) {
      const batch = store.get(`batches/${download[1] ?? ''}`);
      if (!batch) return notFound('file');
      return { body: jsonl(ran(batch).map((outcome) => ({ key: outcome.custom_id, ...resultOf(outcome) }))), headers: { 'content-type': 'application/octet-stream' } };
    }
    const one = /^\/v1beta\/batches\/([^/:]+)(:cancel)?$/.exec(path);
    if (!one) return null;
    const batch = store.get(`batches/${one[1] ?? ''}`);
    if (!batch) return notFound('batch');
    if (request.method === 'POST' && one[2]) {
      store.cancel(batch);
      return { body: {} };
    }
    return { body: view(store.poll(batch)) };
  };
}
