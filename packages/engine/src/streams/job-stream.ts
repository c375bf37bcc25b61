import type { ChatCompletionChunk, Redis } from '@sluice/shared';
import { JobStatusSchema, type JobStatus } from '../jobs/job-types.ts';

/**
 * One entry of a streamed job's Redis Stream (`jobStreamKey`). The status scripts append a
 * `status` entry at every status change of a job that streams (`k=status s=<status> p=<provider>`);
 * the worker appends the provider's output as `delta` entries (`k=delta n=<index of the first
 * chunk> d=<chunks>`, and `u=<position of the usage chunk>` when the entry holds it), several
 * chunks to an entry when they come faster than Redis answers. Each chunk is one line of `d`, its
 * `chat.completion.chunk` as JSON text, so a relay writes it out without parsing it. Every reader
 * sees the same entries with the same ids.
 */
export type JobStreamEntry =
  | { id: string; kind: 'status'; status: JobStatus; provider: string | null }
  /** `chunks`: each chunk's JSON text; `usage`: the position in `chunks` of the usage chunk (`choices: []`), if there. */
  | { id: string; kind: 'delta'; first: number; chunks: string[]; usage: number | null };

/** A stream entry's fields as Redis returns them (`[field, value, field, value, …]`) by name. */
function fieldsOf(flat: readonly string[]): Map<string, string> {
  const fields = new Map<string, string>();
  for (let index = 0; index + 1 < flat.length; index += 2) fields.set(flat[index] as string, flat[index + 1] as string);
  return fields;
}

/** An entry read back from Redis, or null for one Sluice did not write (it is skipped). */
export function decodeStreamEntry(id: string, flat: readonly string[]): JobStreamEntry | null {
  const fields = fieldsOf(flat);
  const kind = fields.get('k');
  if (kind === 'status') {
    const status = JobStatusSchema.safeParse(fields.get('s'));
    if (!status.success) return null;
    const provider = fields.get('p');
    return { id, kind, status: status.data, provider: provider === undefined || provider === '' ? null : provider };
  }
  if (kind === 'delta') {
    const usage = fields.get('u');
    return { id, kind, first: Number(fields.get('n') ?? 0), chunks: (fields.get('d') ?? '').split('\n'), usage: usage === undefined ? null : Number(usage) };
  }
  return null;
}

/** The fields of a delta entry carrying `chunks`, the first of which is the stream's `first`-th chunk. */
export function deltaFields(first: number, chunks: readonly ChatCompletionChunk[]): string[] {
  // JSON text never holds a raw newline: one line per chunk.
  const fields = ['k', 'delta', 'n', String(first), 'd', chunks.map((chunk) => JSON.stringify(chunk)).join('\n')];
  const usage = chunks.findIndex((chunk) => chunk.choices.length === 0);
  if (usage !== -1) fields.push('u', String(usage));
  return fields;
}

/** The entries of an `XRANGE` or `XREAD` reply, those Sluice did not write left out. */
export function decodeStreamEntries(found: readonly [string, string[]][]): JobStreamEntry[] {
  return found.map(([id, fields]) => decodeStreamEntry(id, fields)).filter((entry): entry is JobStreamEntry => entry !== null);
}

/** Every chunk in a job's stream so far, in order (what its readers have been sent). */
export async function streamedChunks(redis: Redis, key: string): Promise<ChatCompletionChunk[]> {
  const chunks: ChatCompletionChunk[] = [];
  for (const entry of decodeStreamEntries(await redis.xrange(key, '-', '+'))) {
    if (entry.kind === 'delta') for (const chunk of entry.chunks) chunks.push(JSON.parse(chunk) as ChatCompletionChunk);
  }
  return chunks;
}
