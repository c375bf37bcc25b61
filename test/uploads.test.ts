import { monitorEventLoopDelay } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, eventually, KEYS, makeConfig, startGateway, type Gateway, type Reply } from './harness/gateway.ts';

/** A tenant that may hold 4 KiB of files, and one limited to 2 requests a minute. */
const TINY = 'sk-test-tiny-0004';
const SLOW_RATE = 'sk-test-rate-0005';
const BOUNDARY = 'sluice-test-boundary-7MA4YWxkTrZu0gW';
const encoder = new TextEncoder();

const line = (id: string, content = `item ${id}`) =>
  JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'default', messages: [{ role: 'user', content }] } });
const jsonl = (count: number, content?: string) => Array.from({ length: count }, (_, index) => line(`req-${index}`, content)).join('\n');

async function reply(response: Response): Promise<Reply> {
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // leave text
  }
  return { status: response.status, headers: response.headers, body };
}

/** An upload as browsers and the SDK send it (FormData), purpose first unless told. */
async function upload(gateway: Gateway, content: string, options: { key?: string; filename?: string; purpose?: string; purposeLast?: boolean } = {}): Promise<Reply> {
  const form = new FormData();
  const purpose = options.purpose ?? 'batch';
  if (!options.purposeLast) form.append('purpose', purpose);
  form.append('file', new Blob([content], { type: 'application/jsonl' }), options.filename ?? 'batch.jsonl');
  if (options.purposeLast) form.append('purpose', purpose);
  return reply(await fetch(`${gateway.url}/v1/files`, { method: 'POST', headers: { authorization: `Bearer ${options.key ?? KEYS.acme}` }, body: form }));
}

/** A multipart body written by hand and streamed as `chunks` yields it: purpose, then the file part. */
function formBody(disposition: string, chunks: AsyncIterator<Uint8Array> | Iterator<Uint8Array>): ReadableStream<Uint8Array> {
  const head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\nContent-Type: application/jsonl\r\n\r\n`;
  let stage: 'head' | 'file' | 'done' = 'head';
  return new ReadableStream({
    async pull(controller) {
      if (stage === 'head') {
        stage = 'file';
        return controller.enqueue(encoder.encode(head));
      }
      const next = stage === 'file' ? await chunks.next() : { done: true as const, value: undefined };
      if (!next.done) return controller.enqueue(next.value);
      if (stage === 'file') {
        stage = 'done';
        return controller.enqueue(encoder.encode(`\r\n--${BOUNDARY}--\r\n`));
      }
      controller.close();
    },
  });
}

const sendForm = async (gateway: Gateway, body: ReadableStream<Uint8Array>, key: string = KEYS.acme, signal?: AbortSignal): Promise<Reply> =>
  reply(await fetch(`${gateway.url}/v1/files`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': `multipart/form-data; boundary=${BOUNDARY}` }, body, duplex: 'half', signal,
  }));

const fileDisposition = (filename = 'batch.jsonl') => `form-data; name="file"; filename="${filename}"`;

/** An upload that sends its first line, then waits for `release()` before sending the rest (or `abandon()`). */
function heldOpenUpload(gateway: Gateway, key: string = KEYS.acme) {
  let release = (): void => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  const abort = new AbortController();
  async function* chunks(): AsyncGenerator<Uint8Array> {
    // Over 256 KiB, so part of it is in Redis (and held) while the rest waits.
    yield encoder.encode(`${jsonl(1_000, 'p'.repeat(250))}\n`);
    await released;
    yield encoder.encode(line('held-last'));
  }
  const reply = sendForm(gateway, formBody(fileDisposition('held.jsonl'), chunks()), key, abort.signal);
  reply.catch(() => undefined);
  return { reply, release, abandon: () => abort.abort() };
}

/** Waits until `key` has as many uploads in progress as the gateway allows (2): a small upload is refused. */
const untilUploadsFull = (gateway: Gateway, key: string = KEYS.acme): Promise<Reply> =>
  eventually(async () => {
    const attempt = await upload(gateway, jsonl(1), { key });
    return attempt.status === 429 ? attempt : undefined;
  }, 5_000, 'a third concurrent upload refused');

describe('uploads: streamed, checked line by line, held to per-tenant limits', () => {
  let gateway: Gateway;
  beforeAll(async () => {
    gateway = await startGateway(
      makeConfig({
        providers: { mock: { type: 'mock' } },
        routes: { default: ['mock/echo'] },
        server: { host: '127.0.0.1', port: 0, shutdown_grace_s: 10, file_limit: '8mb', max_uploads_per_tenant: 2 },
        auth: {
          keys: [
            { key: KEYS.acme, tenant: 'acme', role: 'tenant' },
            { key: KEYS.globex, tenant: 'globex', role: 'tenant' },
            { key: TINY, tenant: 'tiny', role: 'tenant', max_file_bytes: '4kb' },
            { key: SLOW_RATE, tenant: 'slow-rate', role: 'tenant', rpm: 2 },
          ],
        },
      }),
      { worker: false },
    );
  });
  afterAll(async () => {
    await gateway.close();
  });

  it('a file of a million junk lines is refused in well under a second, in bounded memory, while other tenants are served', async () => {
    // Another tenant asks for the models while the upload's last bytes go out (or once it is answered).
    let other: Promise<{ status: number; ms: number }> | null = null;
    const askOther = () =>
      (other ??= (async () => {
        const asked = performance.now();
        const response = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${KEYS.globex}` } });
        return { status: response.status, ms: performance.now() - asked };
      })());
    // 31 chunks of 64 KiB, each 32,768 lines of "x": about a million lines, made as they are sent.
    const junk = encoder.encode('x\n'.repeat(32_768));
    let sent = 0;
    const chunks: Iterator<Uint8Array> = {
      next: () => {
        if (sent === 30) void askOther();
        return sent++ < 31 ? { done: false, value: junk } : { done: true, value: undefined };
      },
    };
    const loop = monitorEventLoopDelay({ resolution: 5 });
    loop.enable();
    const before = process.memoryUsage().heapUsed;
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().heapUsed);
    }, 1);
    const started = performance.now();
    const refused = await sendForm(gateway, formBody(fileDisposition('junk.jsonl'), chunks));
    const elapsed = performance.now() - started;
    const models = await askOther();
    clearInterval(sampler);
    loop.disable();
    peak = Math.max(peak, process.memoryUsage().heapUsed);

    expect(refused.status).toBe(400);
    expect(elapsed).toBeLessThan(1_000);
    expect(peak - before).toBeLessThan(20 * 1024 * 1024);
    expect(models.status).toBe(200);
    expect(models.ms).toBeLessThan(500);
    // The gateway runs in this process: its event loop never stalled for long.
    expect(loop.max / 1e6).toBeLessThan(500);
    expect(refused.body.error).toMatchObject({ code: 'invalid_file', param: 'file' });
    expect(refused.body.error.issues).toHaveLength(20);
    expect(refused.body.error.issues[0]).toEqual({ param: 'line 1', message: 'not valid JSON' });
    expect(refused.body.error.issues[19]).toEqual({ param: 'line 20', message: 'not valid JSON' });
    expect(refused.body.error.message).toContain('checking stopped at line 20');
  });

  it('a client that keeps sending after a refusal gets its 400 at once', async () => {
    const endless: Iterator<Uint8Array> = { next: () => ({ done: false, value: encoder.encode('{nope}\n'.repeat(200)) }) };
    const started = performance.now();
    const refused = await sendForm(gateway, formBody(fileDisposition(), endless), KEYS.acme, AbortSignal.timeout(5_000));
    expect(refused.status).toBe(400);
    expect(refused.body.error.code).toBe('invalid_file');
    expect(performance.now() - started).toBeLessThan(3_000);
  });

  it('refuses at the first request past 50,000 without reading further', async () => {
    const refused = await upload(gateway, `${jsonl(50_001)}\n${'junk\n'.repeat(100)}`);
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([{ param: 'line 50001', message: 'more than 50000 requests' }]);
  });

  it('refuses a line over server.body_limit, naming it', async () => {
    const refused = await upload(gateway, [line('a'), line('b', 'x'.repeat(1_100_000)), line('c')].join('\n'));
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([{ param: 'line 2', message: 'longer than the limit of 1048576 bytes (server.body_limit)' }]);
  });

  it('refuses a custom_id used twice, and any purpose but batch, before or after the file', async () => {
    const refused = await upload(gateway, [line('a'), line('b'), line('a')].join('\n'));
    expect(refused.status).toBe(400);
    expect(refused.body.error.issues).toEqual([{ param: 'line 3', message: 'custom_id "a" is used twice' }]);
    for (const purposeLast of [false, true]) {
      const wrong = await upload(gateway, jsonl(2), { purpose: 'fine-tune', purposeLast });
      expect(wrong.status).toBe(400);
      expect(wrong.body.error).toMatchObject({ code: 'invalid_purpose', param: 'purpose' });
    }
    expect((await upload(gateway, jsonl(2), { purposeLast: true })).status).toBe(200);
  });

  it('413 past server.file_limit; a file of several chunks round-trips byte for byte', async () => {
    const tooBig = await upload(gateway, jsonl(9_000, 'y'.repeat(1_000)));
    expect(tooBig.status).toBe(413);
    expect(tooBig.body.error).toMatchObject({ code: 'file_too_large', param: 'file' });
    const content = jsonl(3_000, 'z'.repeat(700));
    const stored = await upload(gateway, content);
    expect(stored.status).toBe(200);
    expect(stored.body.bytes).toBe(Buffer.byteLength(content));
    const download = await fetch(`${gateway.url}/v1/files/${stored.body.id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-length')).toBe(String(Buffer.byteLength(content)));
    expect(await download.text()).toBe(content);
  });

  it('caps uploads in progress per tenant across the gateway: 429 with Retry-After', async () => {
    const held = [heldOpenUpload(gateway), heldOpenUpload(gateway)];
    try {
      const refused = await untilUploadsFull(gateway);
      expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'too_many_uploads' });
      expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
      expect((await upload(gateway, jsonl(1), { key: KEYS.globex })).status).toBe(200);
    } finally {
      for (const upload of held) upload.release();
    }
    const finished = await Promise.all(held.map((upload) => upload.reply));
    expect(finished.map((done) => done.status)).toEqual([200, 200]);
    expect((await upload(gateway, jsonl(1))).status).toBe(200);
  });

  it('an upload the client abandons gives its place back at once, not when its lease lapses', async () => {
    const held = [heldOpenUpload(gateway, KEYS.globex), heldOpenUpload(gateway, KEYS.globex)];
    await untilUploadsFull(gateway, KEYS.globex);
    const { files } = gateway.api!.deps;
    const stored = async () => (await files.list('globex', { limit: 100 })).data.reduce((sum, file) => sum + file.bytes, 0);
    await eventually(async () => (await files.heldBytes('globex')) > (await stored()) + 2 * 256 * 1024, 5_000, 'both uploads holding their first 256 KiB');
    for (const upload of held) upload.abandon();
    await eventually(async () => (await upload(gateway, jsonl(1), { key: KEYS.globex })).status === 200, 2_000, 'an upload accepted after the others were abandoned');
    // Nothing of the abandoned uploads is still held: only the files stored count.
    expect(await files.heldBytes('globex')).toBe(await stored());
  });

  it("caps the bytes a tenant holds (max_file_bytes): 429, and a DELETE makes room", async () => {
    const content = jsonl(20).slice(0, 2_500);
    const body = content.slice(0, content.lastIndexOf('\n'));
    const first = await upload(gateway, body, { key: TINY });
    expect(first.status).toBe(200);
    const refused = await upload(gateway, body, { key: TINY });
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ type: 'rate_limit_error', code: 'file_storage_limit' });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    const tiny = client(gateway.url, TINY);
    const inline = await tiny.post('/v1/batches', { requests: [{ custom_id: 'a', body: { model: 'default', messages: [{ role: 'user', content: 'x'.repeat(3_000) }] } }] });
    expect(inline.status).toBe(429);
    expect(inline.body.error.code).toBe('file_storage_limit');

    const deleted = await tiny.send('DELETE', `/v1/files/${first.body.id}`);
    expect(deleted).toMatchObject({ status: 200, body: { id: first.body.id, object: 'file', deleted: true } });
    expect((await tiny.get(`/v1/files/${first.body.id}`)).status).toBe(404);
    const second = await upload(gateway, body, { key: TINY });
    expect(second.status).toBe(200);
    expect(await gateway.api!.deps.files.heldBytes('tiny')).toBe(Buffer.byteLength(body));
  });

  it('uploads count toward the tenant rpm', async () => {
    expect((await upload(gateway, jsonl(1), { key: SLOW_RATE })).status).toBe(200);
    expect((await upload(gateway, jsonl(1), { key: SLOW_RATE })).status).toBe(200);
    const limited = await upload(gateway, jsonl(1), { key: SLOW_RATE });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limit_exceeded');
    expect(limited.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('keeps a UTF-8 file name exactly and downloads it with an RFC 6266 filename*', async () => {
    const name = 'données-批量.jsonl';
    const content = jsonl(3);
    const stored = await upload(gateway, content, { filename: name });
    expect(stored.status).toBe(200);
    expect(stored.body.filename).toBe(name);
    const api = client(gateway.url);
    expect((await api.get(`/v1/files/${stored.body.id}`)).body.filename).toBe(name);
    const download = await fetch(`${gateway.url}/v1/files/${stored.body.id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="donn_es-__.jsonl"; filename*=UTF-8''donn%C3%A9es-%E6%89%B9%E9%87%8F.jsonl`);
    expect(await download.text()).toBe(content);
  });

  it("a name sent as filename*=UTF-8''… is kept and downloads without a 500", async () => {
    const content = `${line('star')}\n`;
    const chunks = [encoder.encode(content)][Symbol.iterator]();
    const stored = await sendForm(gateway, formBody(`form-data; name="file"; filename="plain.jsonl"; filename*=UTF-8''%E6%89%B9%E9%87%8F%20%22q%22.jsonl`, chunks));
    expect(stored.status).toBe(200);
    expect(stored.body.filename).toBe('批量 "q".jsonl');
    const download = await fetch(`${gateway.url}/v1/files/${stored.body.id}/content`, { headers: { authorization: `Bearer ${KEYS.acme}` } });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="__ _q_.jsonl"; filename*=UTF-8''%E6%89%B9%E9%87%8F%20%22q%22.jsonl`);
    expect(await download.text()).toBe(content);
  });

  it("another tenant's file id is 404 for GET, content and DELETE", async () => {
    const stored = await upload(gateway, jsonl(1));
    const other = client(gateway.url, KEYS.globex);
    for (const reply of [await other.get(`/v1/files/${stored.body.id}`), await other.get(`/v1/files/${stored.body.id}/content`), await other.send('DELETE', `/v1/files/${stored.body.id}`)]) {
      expect(reply.status).toBe(404);
      expect(reply.body.error.code).toBe('file_not_found');
    }
    const api = client(gateway.url);
    expect((await api.get(`/v1/files/${stored.body.id}`)).status).toBe(200);
    expect((await api.send('DELETE', `/v1/files/${stored.body.id}`)).status).toBe(200);
    expect((await api.send('DELETE', `/v1/files/${stored.body.id}`)).status).toBe(404);
  });
});
