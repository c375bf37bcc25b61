import type { CompletionResult, EmbeddingResult } from '@sluice/providers';
import { embeddingList, type Usage } from '@sluice/shared';
import type { JobRecord, JobResult } from '../jobs/job-types.ts';

/** What a successful call answers, as the job keeps it. */
export interface CallAnswer {
  result: JobResult;
  usage: Usage | null;
  /** Why the usage is an estimate (`cost_details.reason`), or null when the provider counted it. */
  estimated: string | null;
  statusCode: number;
}

/**
 * A provider's answer as the job's result: a chat completion as it came; embeddings as the
 * OpenAI `list` in the encoding the client asked for, with usage in the record's shape (no
 * completion tokens), marked estimated when the provider counted none.
 */
export function callAnswer(record: JobRecord, answer: CompletionResult | EmbeddingResult): CallAnswer {
  if ('completion' in answer) return { result: answer.completion, usage: answer.completion.usage ?? null, estimated: null, statusCode: answer.statusCode };
  const format = record.request.params.encoding_format === 'base64' ? 'base64' : 'float';
  const { prompt_tokens, total_tokens } = answer.usage;
  return {
    result: embeddingList(answer.vectors, answer.model, answer.usage, format),
    usage: { prompt_tokens, completion_tokens: 0, total_tokens },
    estimated: answer.usageEstimated ? 'estimated: the provider reports no token usage for embeddings; prompt_tokens is estimated from the input at 4 characters a token' : null,
    statusCode: answer.statusCode,
  };
}

/** What `log_content: true` logs of a finished job: its messages and answer, or its embeddings inputs (never the vectors). */
export function contentLog(record: JobRecord, result: JobResult): Record<string, unknown> {
  if (result.object === 'list') return { input: record.request.input };
  return { messages: record.request.messages, completion: result.choices.map((choice) => choice.message) };
}
