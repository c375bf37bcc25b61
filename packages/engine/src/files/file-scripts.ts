import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';

/** A script's answer: `ok` with numbers, or a refusal code with the seconds after which to retry. */
export type ScriptReply = [code: string, ...values: number[]];

/** The file store's Lua scripts (`lua/*.lua`), typed. Every key of one call is in one tenant's slot. */
export interface FileScripts {
  sluiceFileBeginUpload(uploads: string, held: string, heldBytes: string, heldTotal: string, id: string, now: number, leaseMs: number, maxUploads: number, maxBytes: number): Promise<ScriptReply>;
  sluiceFileAppendUpload(uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, id: string, now: number, leaseMs: number, maxBytes: number, chunk: Buffer): Promise<ScriptReply>;
  sluiceFileRenewUpload(uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, id: string, now: number, leaseMs: number): Promise<number>;
  sluiceFileAbortUpload(uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, id: string): Promise<number>;
  sluiceFileCommit(
    uploads: string, held: string, heldBytes: string, heldTotal: string, partial: string, content: string, meta: string, index: string,
    id: string, now: number, mode: 'upload' | 'counted' | 'uncounted', maxBytes: number, retentionS: number, tenant: string, filename: string, purpose: string,
  ): Promise<ScriptReply>;
  sluiceFileDelete(meta: string, content: string, index: string, held: string, heldBytes: string, heldTotal: string, id: string): Promise<number>;
}

const SCRIPTS: [name: keyof FileScripts, file: string, keys: number][] = [
  ['sluiceFileBeginUpload', 'begin-upload.lua', 4],
  ['sluiceFileAppendUpload', 'append-upload.lua', 5],
  ['sluiceFileRenewUpload', 'renew-upload.lua', 5],
  ['sluiceFileAbortUpload', 'abort-upload.lua', 5],
  ['sluiceFileCommit', 'commit-file.lua', 8],
  ['sluiceFileDelete', 'delete-file.lua', 6],
];

/** A script's source with its `--!include name.lua` lines replaced by that file. */
function source(file: string): string {
  const read = (name: string): string => readFileSync(new URL(`./lua/${name}`, import.meta.url), 'utf8');
  return read(file).replace(/^--!include ([a-z-]+\.lua)$/gm, (_line, name: string) => read(name));
}

/** Defines the scripts on `redis` once (ioredis sends EVALSHA, and the source when Redis lacks it). */
export function fileScripts(redis: Redis): FileScripts {
  if (!('sluiceFileCommit' in redis)) {
    for (const [name, file, keys] of SCRIPTS) redis.defineCommand(name, { numberOfKeys: keys, lua: source(file) });
  }
  return redis as unknown as FileScripts;
}
