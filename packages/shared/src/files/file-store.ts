import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { multiKey } from '../redis/connection.ts';

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

export interface FileStore {
  create(tenant: string, filename: string, purpose: FilePurpose, content: Buffer | string): Promise<StoredFile>;
  /** The file only if it belongs to `tenant`: another tenant's id reads as absent. */
  get(id: string, tenant: string): Promise<StoredFile | null>;
  content(id: string): Promise<Buffer | null>;
  list(tenant: string, limit: number): Promise<StoredFile[]>;
}

/** Files kept in Redis (the only stateful dependency) for `retention_s`: metadata hash + content string. */
export function createFileStore(redis: Redis, prefix: string, retentionSeconds: number): FileStore {
  const metaKey = (id: string): string => `${prefix}:file:${id}`;
  const contentKey = (id: string): string => `${prefix}:file:${id}:content`;
  const indexKey = (tenant: string): string => `${prefix}:tenant:${tenant}:files`;
  const parse = (hash: Record<string, string>): StoredFile => ({
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
  });
  return {
    async create(tenant, filename, purpose, content) {
      const id = newFileId();
      const now = Math.floor(Date.now() / 1000);
      const bytes = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
      const file: StoredFile = { id, object: 'file', bytes, created_at: now, expires_at: now + retentionSeconds, filename, purpose, status: 'processed', status_details: null, tenant };
      await multiKey(redis)
        .set(contentKey(id), content, 'EX', retentionSeconds)
        .hset(metaKey(id), { id, tenant, bytes, created_at: now, expires_at: file.expires_at, filename, purpose })
        .expire(metaKey(id), retentionSeconds)
        .zadd(indexKey(tenant), now, id)
        .expire(indexKey(tenant), retentionSeconds)
        .exec();
      return file;
    },
    async get(id, tenant) {
      if (!FILE_ID_PATTERN.test(id)) return null;
      const hash = await redis.hgetall(metaKey(id));
      return hash.id === undefined || hash.tenant !== tenant ? null : parse(hash);
    },
    content: (id) => redis.getBuffer(contentKey(id)),
    async list(tenant, limit) {
      const ids = await redis.zrevrange(indexKey(tenant), 0, limit - 1);
      const pipeline = multiKey(redis);
      for (const id of ids) pipeline.hgetall(metaKey(id));
      const rows = ids.length === 0 ? [] : ((await pipeline.exec()) ?? []);
      return rows.map(([, hash]) => hash as Record<string, string>).filter((hash) => hash.id !== undefined).map(parse);
    },
  };
}
