import type { ChatCompletionChunk } from '@sluice/shared';
import { JobStatusSchema, type JobStatus } from '../jobs/job-types.ts';

/**
 * One entry of a streamed job's Redis Stream (`jobStreamKey`). The status scripts append a
 * `status` entry at every status change of a job that streams (`k=status s=<status> p=<provider>`);
 * the worker appends the provider's output as `delta` entries (`k=delta n=<index of the first
 * chunk> d=<JSON array of chat.completion.chunk>`), several chunks to an entry when they come faster
 * than Redis answers. Every reader sees the same entries with the same ids.
 */
export type JobStreamEntry =
  | { id: string; kind: 'status'; status: JobStatus; provider: string | null }
  | { id: string; kind: 'delta'; first: number; chunks: ChatCompletionChunk[] };

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
    try {
      const chunks = JSON.parse(fields.get('d') ?? '') as unknown;
      if (!Array.isArray(chunks)) return null;
      return { id, kind, first: Number(fields.get('n') ?? 0), chunks: chunks as ChatCompletionChunk[] };
    } catch {
      return null;
    }
  }
  return null;
}

/** The fields of a delta entry carrying `chunks`, the first of which is the stream's `first`-th chunk. */
export const deltaFields = (first: number, chunks: readonly ChatCompletionChunk[]): string[] => ['k', 'delta', 'n', String(first), 'd', JSON.stringify(chunks)];
