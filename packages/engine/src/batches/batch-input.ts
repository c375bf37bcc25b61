import { createHash } from 'node:crypto';
import { z } from 'zod';
import { createLineSplitter, readLines, type JsonlLine } from '../files/jsonl-lines.ts';
import { exceedsJsonDepth } from '@sluice/shared';
import { JOB_ENDPOINTS } from '../schemas/job-request.ts';

/** Requests one batch may hold (OpenAI's limit). */
export const MAX_BATCH_REQUESTS = 50_000;

/** Invalid lines an upload may have before it is refused without reading further. */
export const LISTED_LINE_PROBLEMS = 20;

/** One line of a batch input file (OpenAI Batch API); its `url` must also be its batch's `endpoint` (checked when the batch runs). */
export const BatchLineSchema = z
  .object({
    custom_id: z.string().min(1).max(512),
    method: z.literal('POST', 'expected "POST"'),
    url: z.enum(JOB_ENDPOINTS, `expected one of ${JOB_ENDPOINTS.map((endpoint) => `"${endpoint}"`).join(', ')}`),
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

export interface BatchLineLimits {
  /** Longest line in bytes (a line is one request body): `server.body_limit`. */
  maxLineBytes: number;
  /** Deepest JSON nesting of a line: `server.max_json_depth`. */
  maxJsonDepth: number;
  /** Requests a file may hold. Default 50,000. */
  maxRequests?: number;
}

/**
 * A checked line. An invalid line's `reason`: `too_long` (over `maxLineBytes`), `too_many` (a request
 * past `maxRequests`: the rest of the file is not worth reading) or `invalid` (JSON, shape, duplicate).
 */
export type CheckedLine =
  | { kind: 'blank'; line: number }
  | { kind: 'request'; line: number; request: BatchLine }
  | { kind: 'invalid'; line: number; problem: LineProblem; reason: 'too_long' | 'too_many' | 'invalid' };

/**
 * Checks batch lines one at a time: JSON, the line shape, unique `custom_id`s (remembered as 12-byte
 * digests, so 50,000 ids take about 3 MB however long they are), at most `maxRequests` requests.
 */
export function createBatchLineChecker(limits: BatchLineLimits): (entry: JsonlLine) => CheckedLine {
  const maxRequests = limits.maxRequests ?? MAX_BATCH_REQUESTS;
  const seen = new Set<string>();
  let requests = 0;
  const invalid = (line: number, message: string, reason: 'too_long' | 'too_many' | 'invalid' = 'invalid'): CheckedLine => ({ kind: 'invalid', line, problem: { line, message }, reason });
  return (entry) => {
    const line = entry.number;
    if (entry.tooLong) return invalid(line, `longer than the limit of ${limits.maxLineBytes} bytes (server.body_limit)`, 'too_long');
    if (entry.text.trim() === '') return { kind: 'blank', line };
    requests += 1;
    if (requests > maxRequests) return invalid(line, `more than ${maxRequests} requests`, 'too_many');
    if (exceedsJsonDepth(entry.text, limits.maxJsonDepth)) return invalid(line, `JSON nested deeper than ${limits.maxJsonDepth} levels (server.max_json_depth)`);
    let value: unknown;
    try {
      value = JSON.parse(entry.text);
    } catch {
      return invalid(line, 'not valid JSON');
    }
    const parsed = BatchLineSchema.safeParse(value);
    if (!parsed.success) return invalid(line, parsed.error.issues.map((issue) => `${issue.path.join('.') || 'line'}: ${issue.message}`).join('; '));
    const digest = createHash('sha256').update(parsed.data.custom_id).digest('base64').slice(0, 16);
    if (seen.has(digest)) return invalid(line, `custom_id "${parsed.data.custom_id}" is used twice`);
    seen.add(digest);
    return { kind: 'request', line, request: parsed.data };
  };
}

export interface BatchFileCheck {
  /**
   * Checks the lines this chunk completes; false once checking has stopped (`problems` say why).
   * Any problem means the file will be refused, but up to `LISTED_LINE_PROBLEMS` are collected.
   */
  push(chunk: Uint8Array): boolean;
  /** Checks the last line; false when the file must be refused. */
  end(): boolean;
  /** The problems found, at most `LISTED_LINE_PROBLEMS` (checking stops there). */
  readonly problems: readonly LineProblem[];
  /** Requests accepted so far. */
  readonly requests: number;
  /** The line checking stopped at, or null while it goes on. */
  readonly stoppedAt: number | null;
}

/**
 * Checks an uploaded batch file as its bytes arrive, in bounded memory (one line at most
 * `maxLineBytes`, and the custom_id digests). It stops at the first line too long or too many, or after
 * `LISTED_LINE_PROBLEMS` invalid lines, so a file of junk costs no more than its first lines.
 */
export function createBatchFileCheck(limits: BatchLineLimits): BatchFileCheck {
  const splitter = createLineSplitter(limits.maxLineBytes);
  const check = createBatchLineChecker(limits);
  const problems: LineProblem[] = [];
  let requests = 0;
  let stoppedAt: number | null = null;
  const consume = (lines: Iterable<JsonlLine>): boolean => {
    if (stoppedAt !== null) return false;
    for (const entry of lines) {
      const checked = check(entry);
      if (checked.kind === 'request') requests += 1;
      if (checked.kind !== 'invalid') continue;
      problems.push(checked.problem);
      // A line over the size limit or past the request limit ends the check at once.
      if (checked.reason !== 'invalid' || problems.length >= LISTED_LINE_PROBLEMS) {
        stoppedAt = checked.line;
        return false;
      }
    }
    return true;
  };
  return {
    push: (chunk) => consume(splitter.push(chunk)),
    end() {
      consume(splitter.end());
      if (problems.length === 0 && requests === 0) problems.push({ line: 1, message: 'the file holds no requests' });
      return problems.length === 0;
    },
    get problems() {
      return problems;
    },
    get requests() {
      return requests;
    },
    get stoppedAt() {
      return stoppedAt;
    },
  };
}

/** The lines of a stored batch file, checked one by one as its chunks are read (the worker's expansion). */
export async function* readBatchLines(chunks: AsyncIterable<Uint8Array>, limits: BatchLineLimits): AsyncGenerator<CheckedLine> {
  const check = createBatchLineChecker(limits);
  for await (const entry of readLines(chunks, limits.maxLineBytes)) yield check(entry);
}
