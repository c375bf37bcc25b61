import { asEchoRequest, jsonl, notFound, type BatchRoutes, type FakeBatch, type FakeBatchStore, type FakeLineOutcome } from './fake-batch-store.ts';

type Echo = (request: ReturnType<typeof asEchoRequest>) => Record<string, unknown>;

const STATUS: Record<FakeBatch['state'], string> = { in_progress: 'in_progress', canceling: 'cancelling', completed: 'completed', expired: 'expired', failed: 'failed', canceled: 'cancelled' };

/** The uploaded file of a `multipart/form-data` body: the part named `file`. */
function uploadedFile(body: unknown, contentType: string): string | null {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  if (typeof body !== 'string' || boundary === undefined) return null;
  const part = body.split(`--${boundary}`).find((chunk) => /name="file"/.test(chunk));
  if (part === undefined) return null;
  return part.slice(part.indexOf('\r\n\r\n') + 4).replace(/\r\n$/, '');
}

function outputLine(outcome: FakeLineOutcome): Record<string, unknown> {
  const base = { id: `batch_req_${outcome.custom_id}`, custom_id: outcome.custom_id };
  switch (outcome.kind) {
    case 'succeeded':
      return { ...base, response: { status_code: 200, request_id: 'req_fake', body: outcome.body }, error: null };
    case 'errored': {
      const body = outcome.error.body ?? { error: { message: outcome.error.message, type: outcome.error.status >= 500 ? 'server_error' : 'invalid_request_error', param: null, code: null } };
      return { ...base, response: { status_code: outcome.error.status, request_id: 'req_fake', body }, error: null };
    }
    default:
      return { ...base, response: null, error: { code: outcome.kind === 'expired' ? 'batch_expired' : 'batch_cancelled', message: `This request was not executed: the batch ${outcome.kind}.` } };
  }
}

/**
 * OpenAI's Files and Batch endpoints over the fake's batch store: uploads, batches created from an
 * uploaded JSONL file (the key in `metadata.sluice_key` becomes the batch's label), polls, lists,
 * cancel, and output / error files built from each line's outcome.
 */
export function createOpenAIBatchRoutes(store: FakeBatchStore, echo: Echo): BatchRoutes {
  const files = new Map<string, string>();
  const outcomes = (batch: FakeBatch) => store.outcomes(batch, (line) => echo(asEchoRequest(line.body)));
  const fileOf = (batch: FakeBatch, errors: boolean): string | null => {
    const lines = outcomes(batch).filter((outcome) => (outcome.kind === 'succeeded') !== errors);
    return lines.length === 0 ? null : `file-${errors ? 'err' : 'out'}-${batch.id}`;
  };
  const view = (batch: FakeBatch) => {
    const done = outcomes(batch);
    return {
      id: batch.id, object: 'batch', endpoint: '/v1/chat/completions', status: STATUS[batch.state], model: batch.model,
      input_file_id: `file-in-${batch.id}`, completion_window: '24h', created_at: Math.floor(batch.createdAt / 1000),
      output_file_id: fileOf(batch, false), error_file_id: fileOf(batch, true),
      errors: batch.state === 'failed' ? { object: 'list', data: [{ code: 'token_limit_exceeded', message: batch.script.failure ?? 'scripted batch failure', line: null, param: null }] } : null,
      request_counts: { total: batch.lines.length, completed: done.filter((line) => line.kind === 'succeeded').length, failed: done.filter((line) => line.kind !== 'succeeded').length },
      metadata: batch.label === null ? {} : { sluice_key: batch.label },
    };
  };
  const content = (id: string): string | null => {
    const generated = /^file-(out|err)-(.+)$/.exec(id);
    const batch = generated ? store.get(generated[2] ?? '') : undefined;
    if (batch) return jsonl(outcomes(batch).filter((outcome) => (outcome.kind === 'succeeded') === (generated?.[1] === 'out')).map(outputLine));
    return files.get(id) ?? null;
  };

  return (request) => {
    const url = new URL(request.path, 'http://fake');
    const path = url.pathname;
    if (request.method === 'POST' && path === '/v1/files') {
      const file = uploadedFile(request.body, String(request.headers['content-type'] ?? ''));
      if (file === null) return { status: 400, body: { error: { message: 'no file part', type: 'invalid_request_error' } } };
      const id = `file-${files.size + 1}`;
      files.set(id, file);
      return { body: { id, object: 'file', bytes: file.length, purpose: 'batch', filename: 'batch.jsonl', created_at: 0 } };
    }
    const fileContent = /^\/v1\/files\/([^/]+)\/content$/.exec(path);
    if (request.method === 'GET' && fileContent) return content(fileContent[1] ?? '') === null ? notFound('file') : { body: content(fileContent[1] ?? ''), headers: { 'content-type': 'application/octet-stream' } };
    if (request.method === 'POST' && path === '/v1/batches') {
      const body = request.body as { input_file_id?: string; metadata?: { sluice_key?: string } };
      const text = files.get(body.input_file_id ?? '');
      if (text === undefined) return notFound('file');
      const lines = text.split('\n').filter((line) => line.trim() !== '').map((line) => JSON.parse(line) as { custom_id: string; body: { model?: string } });
      const batch = store.create('batch_fake', body.metadata?.sluice_key ?? null, lines[0]?.body.model ?? null, lines.map(({ custom_id, body: line }) => ({ custom_id, body: line })));
      return { body: view(batch), delayMs: batch.script.createReplyDelayMs ?? 0 };
    }
    if (request.method === 'GET' && path === '/v1/batches') {
      const { items, hasMore } = store.page(url.searchParams.get('after'), Number(url.searchParams.get('limit') ?? 20));
      return { body: { object: 'list', data: items.map(view), first_id: items[0]?.id ?? null, last_id: items.at(-1)?.id ?? null, has_more: hasMore } };
    }
    const one = /^\/v1\/batches\/([^/]+)(\/cancel)?$/.exec(path);
    const batch = one ? store.get(one[1] ?? '') : undefined;
    if (!one) return null;
    if (!batch) return notFound('batch');
    if (request.method === 'POST' && one[2]) store.cancel(batch);
    else store.poll(batch);
    return { body: view(batch) };
  };
}
