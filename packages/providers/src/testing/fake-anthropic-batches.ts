import { asEchoRequest, jsonl, notFound, type BatchRoutes, type FakeBatch, type FakeBatchStore, type FakeLineOutcome } from './fake-batch-store.ts';

type Echo = (request: ReturnType<typeof asEchoRequest>) => Record<string, unknown>;

/** The error type a real-time call answers with each status. */
const TYPE_OF_STATUS: Record<number, string> = { 400: 'invalid_request_error', 401: 'authentication_error', 403: 'permission_error', 404: 'not_found_error', 413: 'request_too_large', 429: 'rate_limit_error', 529: 'overloaded_error' };

function resultOf(outcome: FakeLineOutcome): Record<string, unknown> {
  switch (outcome.kind) {
    case 'succeeded':
      return { type: 'succeeded', message: outcome.body };
    case 'errored': {
      const type = TYPE_OF_STATUS[outcome.error.status] ?? 'api_error';
      return { type: 'errored', error: outcome.error.body ?? { type: 'error', error: { type, message: outcome.error.message }, request_id: null } };
    }
    default:
      return { type: outcome.kind };
  }
}

/**
 * Anthropic's Message Batches endpoints over the fake's batch store. A batch has no label here (the
 * API keeps none). Anthropic batches do not fail as a whole: a script's `failed` ends the batch
 * with every line errored by the failure message, as asynchronous validation does. Results come
 * in reverse order, since the real ones come in any order.
 */
export function createAnthropicBatchRoutes(store: FakeBatchStore, echo: Echo): BatchRoutes {
  const outcomes = (batch: FakeBatch): FakeLineOutcome[] => {
    if (batch.state !== 'failed') return store.outcomes(batch, (line) => echo(asEchoRequest(line.body)));
    const message = batch.script.failure ?? 'scripted batch failure';
    return batch.lines.map(({ custom_id }) => ({ custom_id, kind: 'errored', error: { status: 400, message } }));
  };
  const view = (batch: FakeBatch) => {
    const ended = batch.state !== 'in_progress' && batch.state !== 'canceling';
    const done = outcomes(batch);
    const count = (kind: FakeLineOutcome['kind'] | 'errored') => done.filter((line) => line.kind === kind).length;
    const created = new Date(batch.createdAt);
    return {
      id: batch.id, type: 'message_batch', processing_status: ended ? 'ended' : batch.state === 'canceling' ? 'canceling' : 'in_progress',
      request_counts: { processing: ended ? 0 : batch.lines.length, succeeded: count('succeeded'), errored: count('errored'), canceled: count('canceled'), expired: count('expired') },
      created_at: created.toISOString(), expires_at: new Date(batch.createdAt + 86_400_000).toISOString(), ended_at: ended ? new Date().toISOString() : null,
      cancel_initiated_at: null, archived_at: null, results_url: ended ? `https://fake.invalid/v1/messages/batches/${batch.id}/results` : null,
    };
  };

  return (request) => {
    const url = new URL(request.path, 'http://fake');
    const path = url.pathname;
    if (request.method === 'POST' && path === '/v1/messages/batches') {
      const body = request.body as { requests?: { custom_id: string; params: { model?: string } }[] };
      const lines = (body.requests ?? []).map(({ custom_id, params }) => ({ custom_id, body: params }));
      return { body: view(store.create('msgbatch_fake', null, body.requests?.[0]?.params.model ?? null, lines)) };
    }
    if (request.method === 'GET' && path === '/v1/messages/batches') {
      const { items, hasMore } = store.page(url.searchParams.get('after_id'), Number(url.searchParams.get('limit') ?? 20));
      return { body: { data: items.map(view), has_more: hasMore, first_id: items[0]?.id ?? null, last_id: items.at(-1)?.id ?? null } };
    }
    const one = /^\/v1\/messages\/batches\/([^/]+)(\/cancel|\/results)?$/.exec(path);
    if (!one) return null;
    const batch = store.get(one[1] ?? '');
    if (!batch) return notFound('batch');
    if (one[2] === '/results') {
      if (view(batch).processing_status !== 'ended') return notFound('results');
      return { body: jsonl(outcomes(batch).reverse().map((outcome) => ({ custom_id: outcome.custom_id, result: resultOf(outcome) }))), headers: { 'content-type': 'application/binary' } };
    }
    if (request.method === 'POST' && one[2] === '/cancel') store.cancel(batch);
    else store.poll(batch);
    return { body: view(batch) };
  };
}
