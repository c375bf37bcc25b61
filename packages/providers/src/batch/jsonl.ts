import type { z } from 'zod';
import { ProviderError } from '../provider-error.ts';

/**
 * The lines of a JSONL result file, each read with `schema`, blank lines skipped. Lines are parsed
 * one at a time as the caller pulls them, so a consumer that stops early parses no more. A line
 * that is not JSON of that shape is a retryable failure of the whole read: it names no line we
 * could report, and a second download may be whole.
 */
export function* parseJsonLines<S extends z.ZodType>(provider: string, text: string, schema: S): Generator<z.infer<S>> {
  let start = 0;
  let number = 0;
  while (start < text.length) {
    const end = text.indexOf('\n', start);
    const line = text.slice(start, end === -1 ? text.length : end).trim();
    start = end === -1 ? text.length : end + 1;
    number += 1;
    if (line === '') continue;
    yield parseLine(provider, line, number, schema);
  }
}

function parseLine<S extends z.ZodType>(provider: string, line: string, number: number, schema: S): z.infer<S> {
  let json: unknown;
  try {
    json = JSON.parse(line);
  } catch (error) {
    throw new ProviderError(`${provider}: batch result line ${number} is not JSON`, { kind: 'retryable', provider, status: 200, body: line, cause: error });
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new ProviderError(`${provider}: malformed batch result line ${number}: ${issue?.path.join('.')} ${issue?.message}`, { kind: 'retryable', provider, status: 200, body: line });
}
