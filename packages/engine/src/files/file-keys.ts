/**
 * Every Redis key of the file store. A tenant's keys share one hash tag, so each script touches a
 * single Cluster slot: an upload's chunk, its lease and the tenant's held bytes change together.
 */
export interface FileKeys {
  /** Metadata hash of a finished file. */
  meta(id: string): string;
  /** Content of a finished file (one string). */
  content(id: string): string;
  /** Content while it is being written; it lapses with the upload's lease and becomes `content` on commit. */
  partial(id: string): string;
  /** The tenant's files by creation time (seconds). */
  index: string;
  /** What the tenant holds, by deadline (ms): files until they expire, uploads until their lease lapses. */
  held: string;
  /** Bytes of each entry of `held`. */
  heldBytes: string;
  /** Sum of `heldBytes`. */
  heldTotal: string;
  /** The tenant's uploads in progress, by lease deadline (ms). */
  uploads: string;
}

export function fileKeys(prefix: string, tenant: string): FileKeys {
  const base = `${prefix}:{files:${tenant}}`;
  return {
    meta: (id) => `${base}:file:${id}`,
    content: (id) => `${base}:file:${id}:content`,
    partial: (id) => `${base}:upload:${id}`,
    index: `${base}:index`,
    held: `${base}:held`,
    heldBytes: `${base}:held-bytes`,
    heldTotal: `${base}:held-total`,
    uploads: `${base}:uploads`,
  };
}
