import { z } from 'zod';

/** Requests one batch may hold (OpenAI's limit). */
export const MAX_BATCH_REQUESTS = 50_000;

/** One line of a batch input file (OpenAI Batch API). */
export const BatchLineSchema = z
  .object({
    custom_id: z.string().min(1).max(512),
    method: z.literal('POST', 'expected "POST"'),
    url: z.literal('/v1/chat/completions', 'expected "/v1/chat/completions"'),
    body: z.record(z.string(), z.unknown()),
  })
  .loose();
export type BatchLine = z.infer<typeof BatchLineSchema>;

/** An inline request of `POST /v1/batches` (`requests: [{custom_id, body}]`). */
export const InlineBatchRequestSchema = z.object({ custom_id: z.string().min(1).max(512), body: z.record(z.string(), z.unknown()) }).strict();

export interface LineProblem {
  line: number;
  message: string;
}

/**
 * Checks a JSONL batch file line by line: JSON, the line shape, unique `custom_id`s, at most
 * 50,000 lines. Blank lines are skipped. Every problem is named with its line number.
 */
export function parseBatchFile(text: string): { lines: BatchLine[]; problems: LineProblem[] } {
  const lines: BatchLine[] = [];
  const problems: LineProblem[] = [];
  const seen = new Set<string>();
  const raw = text.split('\n');
  for (const [index, source] of raw.entries()) {
    const number = index + 1;
    if (source.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(source);
    } catch {
      problems.push({ line: number, message: 'not valid JSON' });
      continue;
    }
    const parsed = BatchLineSchema.safeParse(value);
    if (!parsed.success) {
      problems.push({ line: number, message: parsed.error.issues.map((issue) => `${issue.path.join('.') || 'line'}: ${issue.message}`).join('; ') });
      continue;
    }
    if (seen.has(parsed.data.custom_id)) {
      problems.push({ line: number, message: `custom_id "${parsed.data.custom_id}" is used twice` });
      continue;
    }
    seen.add(parsed.data.custom_id);
    lines.push(parsed.data);
  }
  if (lines.length + problems.length > MAX_BATCH_REQUESTS) problems.push({ line: raw.length, message: `more than ${MAX_BATCH_REQUESTS} requests` });
  if (lines.length === 0 && problems.length === 0) problems.push({ line: 1, message: 'the file holds no requests' });
  return { lines, problems };
}
