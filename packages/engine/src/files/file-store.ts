import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { SluiceError } from '@sluice/shared';
import { multiKey } from '@sluice/shared';
import { collectPage } from '../indexes/paging.ts';
import { fileKeys, legacyFileKeys, type FileKeys } from '../keys.ts';
import { FileLimitError } from './file-limit-error.ts';
import { defineScripts, type Scripts, type ScriptReply } from '../scripts.ts';


export type FilePurpose = 'batch' | 'batch_output';

/** The OpenAI Files API object. */
export interface FileObject {
  id: string;
  object: 'file';
  bytes: number;
  created_at: number;
  expires_at: number;
  filename: string;
  purpose: FilePurpose;
  status: 'processed';
  status_details: null;
}

export interface StoredFile extends FileObject {
  tenant: string;
}

export const FILE_ID_PATTERN = /^file-[A-Za-z0-9_-]{22}$/;
export const newFileId = (): string => `file-${randomBytes(16).toString('base64url')}`;

/** Bytes read from Redis per GETRANGE when a file is read back. */
export const READ_CHUNK_BYTES = 256 * 1024;

export interface UploadLimits {
  /** Uploads the tenant may have in progress at once, across API processes (`server.max_uploads_per_tenant`). */
  maxUploads: number;
  /** Bytes of files the tenant may hold (`auth.keys[].max_file_bytes`). */
  maxHeldBytes: number;
}

/** An upload in progress: its content grows in Redis chunk by chunk and becomes a file on commit. */
export interface FileUpload {
  readonly id: string;
  /** Appends a chunk. Throws `FileLimitError` past the tenant's held bytes. */
  append(chunk: Buffer): Promise<void>;
  commit(filename: string, purpose: FilePurpose): Promise<StoredFile>;
  /** Drops the content and releases the lease and held bytes; nothing after a commit. */
  abort(): Promise<void>;
}

/** A file written piece by piece. */
export interface FileWriter {
  append(text: string): Promise<void>;
  commit(): Promise<StoredFile>;
}

/** How long a file being written piece by piece outlives its last piece. */
const WRITER_IDLE_MS = 10 * 60_000;

export interface FileStoreOptions {
  /**
   * How long an upload's lease (its place among `maxUploads`, its held bytes, its partial content)
   * outlives the last sign of its API process, which renews it every third of it. Default 30000.
   */
  uploadLeaseMs?: number;
}

export interface FileStore {
  /**
   * Stores a whole file at once. With `maxHeldBytes` it counts toward the tenant's held bytes and is
   * refused past them (`FileLimitError`); without, it is not counted. Batch output files are written
   * uncounted: they derive from inputs the tenant was allowed to upload, and finalizing a batch must
   * never fail on a cap. `max_file_bytes` bounds what a tenant uploads; retention bounds the rest.
   */
  create(tenant: string, filename: string, purpose: FilePurpose, content: Buffer | string, options?: { maxHeldBytes?: number }): Promise<StoredFile>;
  /**
   * Writes a file piece by piece, uncounted like `create` without limits (a batch's output, which may
   * be large): nothing is a file until `commit`, and an abandoned one lapses by itself.
   */
  writeUncounted(tenant: string, filename: string, purpose: FilePurpose): FileWriter;
  /** Starts an upload. Throws `FileLimitError` past the tenant's uploads in progress or held bytes. */
  beginUpload(tenant: string, limits: UploadLimits): Promise<FileUpload>;
  /** The file only if it belongs to `tenant`: another tenant's id reads as absent. */
  get(id: string, tenant: string): Promise<StoredFile | null>;
  /**
   * A file's content, `chunkBytes` at a time. Throws a `file_not_found` SluiceError when it is
   * absent, or deleted while being read.
   */
  chunks(id: string, tenant: string, chunkBytes?: number): AsyncGenerator<Buffer>;
  /** The tenant's files, newest first, after a file id (a position: files of one second are not skipped). */
  list(tenant: string, options: { limit: number; after?: string | undefined; purpose?: FilePurpose | undefined }): Promise<{ data: StoredFile[]; has_more: boolean }>;
  /** True when the tenant's file existed and is gone now; its bytes are no longer held. */
  delete(id: string, tenant: string): Promise<boolean>;
  /** Bytes the tenant holds (files, and uploads in progress), as last counted. */
  heldBytes(tenant: string): Promise<number>;
}

const fileGone = (id: string): SluiceError => new SluiceError(`File ${id} is gone (deleted or expired)`, { code: 'file_not_found' });

/** Files kept in Redis (the only stateful dependency) for `retention` seconds: a metadata hash and a content string. */
export function createFileStore(redis: Redis, prefix: string, retention: number, options: FileStoreOptions = {}): FileStore {
  return new RedisFileStore(redis, prefix, retention, options);
}

/** How a commit counts the file's bytes: already, chunk by chunk (`upload`); now, refused past a cap (`counted`); not at all (`uncounted`). */
type CommitMode = 'upload' | 'counted' | 'uncounted';

class RedisFileStore implements FileStore {
  private readonly redis: Redis;
  private readonly scripts: Scripts;
  private readonly prefix: string;
  /** Seconds a file is kept. */
  private readonly retention: number;
  private readonly leaseMs: number;
  /** Read only: a batch created before a tenant's keys shared one hash tag still finds its input. */
  private readonly legacyKeys: Pick<FileKeys, 'meta' | 'content'>;

  constructor(redis: Redis, prefix: string, retention: number, options: FileStoreOptions) {
    this.redis = redis;
    this.scripts = defineScripts(redis);
    this.prefix = prefix;
    this.retention = retention;
    this.leaseMs = options.uploadLeaseMs ?? 30_000;
    this.legacyKeys = legacyFileKeys(prefix);
  }

  async create(tenant: string, filename: string, purpose: FilePurpose, content: Buffer | string, createOptions: { maxHeldBytes?: number } = {}): Promise<StoredFile> {
    const id = newFileId();
    const keys = fileKeys(this.prefix, tenant);
    // Written beside the file, then renamed into place by the commit, which may still refuse it.
    await this.redis.set(keys.partial(id), content, 'PX', this.leaseMs);
    const max = createOptions.maxHeldBytes;
    return this.commit(keys, tenant, id, max === undefined ? 'uncounted' : 'counted', filename, purpose, max);
  }

  writeUncounted(tenant: string, filename: string, purpose: FilePurpose): FileWriter {
    const { redis } = this;
    const id = newFileId();
    const keys = fileKeys(this.prefix, tenant);
    const commitFile = (): Promise<StoredFile> => this.commit(keys, tenant, id, 'uncounted', filename, purpose);
    let written = false;
    return {
      async append(text) {
        if (text.length === 0) return;
        await redis.multi().append(keys.partial(id), text).pexpire(keys.partial(id), WRITER_IDLE_MS).exec();
        written = true;
      },
      async commit() {
        if (!written) await redis.set(keys.partial(id), '', 'PX', WRITER_IDLE_MS);
        return commitFile();
      },
    };
  }

  async beginUpload(tenant: string, limits: UploadLimits): Promise<FileUpload> {
    const id = newFileId();
    const keys = fileKeys(this.prefix, tenant);
    const reply = await this.scripts.sluiceFileBeginUpload(keys.uploads, keys.held, keys.heldBytes, keys.heldTotal, id, Date.now(), this.leaseMs, limits.maxUploads, limits.maxHeldBytes);
    if (reply[0] !== 'ok') throw refusal(reply, tenant, limits);
    return startUpload({
      scripts: this.scripts, keys, id, leaseMs: this.leaseMs, maxHeldBytes: limits.maxHeldBytes,
      commit: (filename, purpose) => this.commit(keys, tenant, id, 'upload', filename, purpose),
      refusal: (refused) => refusal(refused, tenant, limits),
    });
  }

  async get(id: string, tenant: string): Promise<StoredFile | null> {
    if (!FILE_ID_PATTERN.test(id)) return null;
    let hash = await this.redis.hgetall(fileKeys(this.prefix, tenant).meta(id));
    if (hash.id === undefined) hash = await this.redis.hgetall(this.legacyKeys.meta(id));
    return hash.id === undefined || hash.tenant !== tenant ? null : parse(hash);
  }

  async *chunks(id: string, tenant: string, chunkBytes = READ_CHUNK_BYTES): AsyncGenerator<Buffer> {
    const { key, length } = await this.content(id, tenant);
    for (let start = 0; start < length; start += chunkBytes) {
      const end = Math.min(start + chunkBytes, length);
      const chunk = await this.redis.getrangeBuffer(key, start, end - 1);
      if (chunk.length !== end - start) throw fileGone(id);
      yield chunk;
    }
  }

  async list(tenant: string, { limit, after, purpose }: { limit: number; after?: string | undefined; purpose?: FilePurpose | undefined }): Promise<{ data: StoredFile[]; has_more: boolean }> {
    const keys = fileKeys(this.prefix, tenant);
    return collectPage(this.redis, keys.index, { after, limit }, async (ids) => {
      const pipeline = multiKey(this.redis);
      for (const id of ids) pipeline.hgetall(keys.meta(id));
      return ((await pipeline.exec()) ?? []).map(([, hash]) => hash as Record<string, string>).map((hash) => (hash.id === undefined || (purpose !== undefined && hash.purpose !== purpose) ? null : parse(hash)));
    });
  }

  async delete(id: string, tenant: string): Promise<boolean> {
    if (!FILE_ID_PATTERN.test(id)) return false;
    const keys = fileKeys(this.prefix, tenant);
    return (await this.scripts.sluiceFileDelete(keys.meta(id), keys.content(id), keys.index, keys.held, keys.heldBytes, keys.heldTotal, id)) === 1;
  }

  async heldBytes(tenant: string): Promise<number> {
    return Number((await this.redis.get(fileKeys(this.prefix, tenant).heldTotal)) ?? 0);
  }

  /** Makes the partial content written for `id` a file (the script may still refuse it). */
  private async commit(keys: FileKeys, tenant: string, id: string, mode: CommitMode, filename: string, purpose: FilePurpose, maxBytes = 0): Promise<StoredFile> {
    const reply = await this.scripts.sluiceFileCommit(
      keys.uploads, keys.held, keys.heldBytes, keys.heldTotal, keys.partial(id), keys.content(id), keys.meta(id), keys.index,
      id, Date.now(), mode, maxBytes, this.retention, tenant, filename, purpose,
    );
    if (reply[0] !== 'ok') throw reply[0] === 'file_not_found' ? fileGone(id) : refusal(reply, tenant, { maxHeldBytes: maxBytes });
    const [, bytes = 0, created = 0, expires = 0] = reply;
    return { id, object: 'file', bytes, created_at: created, expires_at: expires, filename, purpose, status: 'processed', status_details: null, tenant };
  }

  /** Where a file's content is (the tenant's keys, else the legacy ones) and its length; throws `file_not_found` when it is in neither. */
  private async content(id: string, tenant: string): Promise<{ key: string; length: number }> {
    let key = fileKeys(this.prefix, tenant).content(id);
    // Stored content never changes, so its length says where it ends; a short read means it went.
    let length = await this.redis.strlen(key);
    if (length === 0 && (await this.redis.exists(key)) === 0) {
      key = this.legacyKeys.content(id);
      length = await this.redis.strlen(key);
      if (length === 0 && (await this.redis.exists(key)) === 0) throw fileGone(id);
    }
    return { key, length };
  }
}

/** The error a refused script reply stands for. */
function refusal(reply: ScriptReply, tenant: string, limits: Partial<UploadLimits>): Error {
  const [code, retryAfter = 1] = reply;
  if (code === 'too_many_uploads') {
    return new FileLimitError(code, `Tenant ${tenant} has ${limits.maxUploads} uploads in progress, its limit (server.max_uploads_per_tenant)`, retryAfter);
  }
  if (code === 'file_storage_limit') {
    return new FileLimitError(code, `Tenant ${tenant} would hold more than its limit of ${limits.maxHeldBytes} bytes of files (max_file_bytes); delete files or wait until some expire`, retryAfter);
  }
  if (code === 'lease_lost') return new SluiceError('The upload was interrupted (its lease lapsed); send it again', { code: 'upload_interrupted', retryable: true });
  return new SluiceError(`File store refused: ${code}`, { code });
}

function parse(hash: Record<string, string>): StoredFile {
  return {
    id: hash.id ?? '',
    object: 'file',
    bytes: Number(hash.bytes),
    created_at: Number(hash.created_at),
    expires_at: Number(hash.expires_at),
    filename: hash.filename ?? '',
    purpose: (hash.purpose ?? 'batch') as FilePurpose,
    status: 'processed',
    status_details: null,
    tenant: hash.tenant ?? '',
  };
}

interface UploadParts {
  scripts: Scripts;
  keys: FileKeys;
  id: string;
  leaseMs: number;
  maxHeldBytes: number;
  commit(filename: string, purpose: FilePurpose): Promise<StoredFile>;
  refusal(reply: ScriptReply): Error;
}

/**
 * The upload's lease is renewed every third of its life while this process lives: if the process
 * dies, the lease, the bytes it held and its partial content lapse together in Redis.
 */
function startUpload(parts: UploadParts): FileUpload {
  const { scripts, keys, id, leaseMs } = parts;
  let state: 'open' | 'committed' | 'aborted' = 'open';
  const renew = (): void => {
    scripts.sluiceFileRenewUpload(keys.uploads, keys.held, keys.heldBytes, keys.heldTotal, keys.partial(id), id, Date.now(), leaseMs).catch(() => undefined);
  };
  const heartbeat = setInterval(renew, Math.max(10, Math.floor(leaseMs / 3)));
  heartbeat.unref();
  return {
    id,
    async append(chunk) {
      if (chunk.length === 0) return;
      const reply = await scripts.sluiceFileAppendUpload(keys.uploads, keys.held, keys.heldBytes, keys.heldTotal, keys.partial(id), id, Date.now(), leaseMs, parts.maxHeldBytes, chunk);
      if (reply[0] !== 'ok') throw parts.refusal(reply);
    },
    async commit(filename, purpose) {
      clearInterval(heartbeat);
      const file = await parts.commit(filename, purpose);
      state = 'committed';
      return file;
    },
    async abort() {
      clearInterval(heartbeat);
      if (state !== 'open') return;
      state = 'aborted';
      await scripts.sluiceFileAbortUpload(keys.uploads, keys.held, keys.heldBytes, keys.heldTotal, keys.partial(id), id);
    },
  };
}
