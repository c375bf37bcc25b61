import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { Redis } from 'ioredis';
import { fileKeys } from '../keys.ts';
import { FileLimitError } from './file-limit-error.ts';
import { createFileStore, type FileStore } from './file-store.ts';

/** Polls until `check` holds (time passing is what is awaited here: leases and TTLs lapse). */
async function until(check: () => Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const refusal = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'accepted',
    (error: unknown) => (error instanceof FileLimitError ? error.limit : String(error)),
  );

/** An upload's lease here: short, so its lapse is quick to see, yet long past a loaded machine's stalls. */
const LEASE_MS = 1_000;

describe('file store', () => {
  let redis: Redis;
  let files: FileStore;
  const prefix = `t${Date.now().toString(36)}files`;
  const limits = { maxUploads: 1, maxHeldBytes: 1_000 };
  beforeAll(() => {
    redis = new Redis(inject('redisUrl'));
    files = createFileStore(redis, prefix, 60, { uploadLeaseMs: LEASE_MS });
  });
  afterAll(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  it('an upload grows chunk by chunk, becomes a file on commit, and counts toward held bytes until deleted', async () => {
    const upload = await files.beginUpload('a', limits);
    await upload.append(Buffer.from('{"x":1}\n'));
    await upload.append(Buffer.from('{"x":2}'));
    expect(await files.get(upload.id, 'a')).toBeNull();
    const file = await upload.commit('in.jsonl', 'batch');
    expect(file).toMatchObject({ id: upload.id, bytes: 15, filename: 'in.jsonl', purpose: 'batch', tenant: 'a' });
    expect(await files.get(file.id, 'a')).toEqual(file);
    expect(await files.get(file.id, 'b')).toBeNull();
    expect(await files.heldBytes('a')).toBe(15);
    const chunks: string[] = [];
    for await (const chunk of files.chunks(file.id, 'a', 4)) chunks.push(chunk.toString());
    expect(chunks).toEqual(['{"x"', ':1}\n', '{"x"', ':2}']);
    expect(await files.delete(file.id, 'b')).toBe(false);
    expect(await files.delete(file.id, 'a')).toBe(true);
    expect(await files.heldBytes('a')).toBe(0);
    expect((await files.list('a', { limit: 10 })).data).toEqual([]);
  });

  it('refuses uploads past the tenant caps, and an abort gives back what the upload held', async () => {
    const upload = await files.beginUpload('c', limits);
    expect(await refusal(files.beginUpload('c', limits))).toBe('too_many_uploads');
    expect(await refusal(files.beginUpload('d', limits))).toBe('accepted');
    await upload.append(Buffer.alloc(900, 'x'));
    expect(await refusal(upload.append(Buffer.alloc(200, 'x')))).toBe('file_storage_limit');
    expect(await files.heldBytes('c')).toBe(900);
    await upload.abort();
    expect(await files.heldBytes('c')).toBe(0);
    expect(await redis.exists(fileKeys(prefix, 'c').partial(upload.id))).toBe(0);
    const next = await files.beginUpload('c', limits);
    await next.abort();
  });

  it('counts whole files created with a cap, not those created without (batch outputs)', async () => {
    const counted = await files.create('e', 'inline.jsonl', 'batch', 'x'.repeat(600), { maxHeldBytes: 1_000 });
    expect(await refusal(files.create('e', 'inline.jsonl', 'batch', 'x'.repeat(600), { maxHeldBytes: 1_000 }))).toBe('file_storage_limit');
    const output = await files.create('e', 'out.jsonl', 'batch_output', 'y'.repeat(5_000));
    expect(await files.heldBytes('e')).toBe(600);
    expect((await files.list('e', { limit: 10 })).data.map((file) => file.id).sort()).toEqual([counted.id, output.id].sort());
    expect(await redis.keys(`${prefix}:{files:e}:upload:*`)).toEqual([]);
  });

  it("an API process that dies mid-upload frees its lease, held bytes and partial content when the lease lapses", async () => {
    const dying = new Redis(inject('redisUrl'));
    const upload = await createFileStore(dying, prefix, 60, { uploadLeaseMs: LEASE_MS }).beginUpload('f', limits);
    await upload.append(Buffer.alloc(700, 'x'));
    dying.disconnect(); // no more renewals: the process is gone
    expect(await files.heldBytes('f')).toBe(700);
    expect(await refusal(files.beginUpload('f', limits))).toBe('too_many_uploads');
    let survivor: Awaited<ReturnType<FileStore['beginUpload']>> | null = null;
    await until(async () => {
      survivor = await files.beginUpload('f', limits).catch(() => null);
      return survivor !== null;
    });
    expect(await files.heldBytes('f')).toBe(0);
    // The partial content lapses by Redis's own clock, moments after the lease (by the API's clock):
    // nothing reads it meanwhile, as every append and commit checks the lease first.
    await until(async () => (await redis.exists(fileKeys(prefix, 'f').partial(upload.id))) === 0, 2_000);
    await upload.abort().catch(() => undefined);
    await survivor!.abort();
  });

  it('a live upload keeps its lease past its length; an expired file stops counting', async () => {
    const upload = await files.beginUpload('g', limits);
    await upload.append(Buffer.from('{}'));
    await new Promise((resolve) => setTimeout(resolve, 2 * LEASE_MS + 100)); // over two lease lengths, renewed meanwhile
    const file = await upload.commit('kept.jsonl', 'batch');
    expect(file.bytes).toBe(2);
    const shortLived = createFileStore(redis, prefix, 1);
    const brief = await shortLived.create('g2', 'brief.jsonl', 'batch', 'x'.repeat(100), { maxHeldBytes: 1_000 });
    expect(await files.heldBytes('g2')).toBe(100);
    await until(async () => (await files.get(brief.id, 'g2')) === null);
    await (await files.beginUpload('g2', limits)).abort(); // any later call drops what expired
    expect(await files.heldBytes('g2')).toBe(0);
  });

  it('reading a file deleted midway fails as file_not_found instead of ending short', async () => {
    const file = await files.create('h', 'big.jsonl', 'batch', 'x'.repeat(100));
    const reader = files.chunks(file.id, 'h', 40);
    expect((await reader.next()).value?.length).toBe(40);
    await files.delete(file.id, 'h');
    await expect(reader.next()).rejects.toMatchObject({ code: 'file_not_found' });
    await expect(files.chunks(file.id, 'h').next()).rejects.toMatchObject({ code: 'file_not_found' });
  });

  it('still reads a file stored under the keys used before files were grouped per tenant', async () => {
    const id = 'file-LegacyLegacyLegacyLega';
    await redis.hset(`${prefix}:file:${id}`, { id, tenant: 'old', bytes: 7, created_at: 1, expires_at: 2, filename: 'in.jsonl', purpose: 'batch' });
    await redis.set(`${prefix}:file:${id}:content`, '{"a":1}');
    expect(await files.get(id, 'old')).toMatchObject({ id, bytes: 7, filename: 'in.jsonl' });
    expect(await files.get(id, 'other')).toBeNull();
    const chunks: Buffer[] = [];
    for await (const chunk of files.chunks(id, 'old')) chunks.push(chunk);
    expect(Buffer.concat(chunks).toString()).toBe('{"a":1}');
  });

  it('lists files newest first a page at a time, files of one second included, optionally by purpose', async () => {
    const made = [];
    for (const purpose of ['batch', 'batch_output', 'batch'] as const) made.push(await files.create('lister', `${purpose}.jsonl`, purpose, '{}'));
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await files.list('lister', { limit: 1, after });
      seen.push(...page.data.map((file) => file.id));
      if (!page.has_more) break;
      after = page.data.at(-1)?.id;
    }
    expect(seen.sort()).toEqual(made.map((file) => file.id).sort());
    const outputs = await files.list('lister', { limit: 10, purpose: 'batch_output' });
    expect(outputs.data.map((file) => file.id)).toEqual([made[1]?.id]);
  });
});
