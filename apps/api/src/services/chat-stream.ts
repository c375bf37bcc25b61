import type { Response } from 'express';
import { completionChunks } from '@sluice/shared';
import { chatResult, isTerminal, type JobRecord, type JobStatus } from '@sluice/engine';
import { failureOf } from './job-failure.ts';
import { SSE_HEADERS, truncatedError } from './sse.ts';
import { StreamRelay, type DeltaEntry, type StreamRelayDeps } from './stream-relay.ts';

/** What relaying a streamed chat completion reads. */
export type ChatStreamDeps = StreamRelayDeps;

export interface RelayOptions {
  /** How long to wait for the first chunk (`server.sync_timeout_s`). */
  timeoutMs: number;
  /** The client leaving cancels the job (it made the job, and the job has no webhook). */
  cancelOnLeave: boolean;
  /** The client asked for the usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
}

/** The error chunk that ends a stream after its first chunk: the openai SDK raises it as an `APIError`. */
function errorEvent(record: JobRecord | null, status: JobStatus): string {
  const failure = record === null ? null : failureOf(record);
  const error = {
    message: failure?.message ?? `the job ended ${status}`,
    type: failure?.type ?? 'api_error',
    code: record?.error?.code ?? failure?.code ?? status,
  };
  return `data: ${JSON.stringify({ error })}\n\n`;
}

/**
 * Relays one streamed job's output stream to its client in OpenAI's chat-completions SSE format,
 * from the stream's start: nothing goes out until the first chunk (a failure before it, after every
 * retry and failover, answers as a non-streamed call would, with its status code). From the first
 * chunk on, `data: <chunk>` events, then `data: [DONE]` when the job succeeds, or one error event
 * when it ends otherwise. The client leaving cancels the job, unless it has a webhook.
 */
class ChatStreamRelay extends StreamRelay {
  constructor(deps: ChatStreamDeps, res: Response, record: JobRecord, private readonly relayOptions: RelayOptions) {
    super(deps, res, record, { hold: { timeoutMs: relayOptions.timeoutMs }, cancelOnLeave: relayOptions.cancelOnLeave });
  }

  protected chunkText(entry: DeltaEntry, from: number): string {
    let out = '';
    entry.chunks.forEach((chunk, n) => {
      // The usage chunk goes to clients that asked for it (`stream_options.include_usage`).
      if (n >= from && (n !== entry.usage || this.relayOptions.includeUsage)) out += `data: ${chunk}\n\n`;
    });
    return out;
  }

  protected endText(status: JobStatus, record: JobRecord | null): string {
    return status === 'succeeded' ? 'data: [DONE]\n\n' : errorEvent(record, status);
  }

  /** The reader fell further behind than the stream keeps: an error event, not a silently shortened answer. */
  protected truncatedText(): string {
    return `data: ${JSON.stringify({ error: truncatedError(this.record.id) })}\n\n`;
  }
}

/**
 * Streams a submitted job's output to the client (`POST /v1/chat/completions` with `stream: true`).
 * Resolves when the stream ends; rejects with the API error to answer when the job ends before its
 * first chunk, or no chunk comes within `options.timeoutMs`.
 */
export async function relayChatStream(deps: ChatStreamDeps, res: Response, record: JobRecord, options: RelayOptions): Promise<void> {
  // An Idempotency-Key replay of a job that has ended: its whole answer is on the record (its
  // stream may have dropped its start, or lapsed).
  if (isTerminal(record.status)) {
    replayEnded(res, record, options.includeUsage);
    return;
  }
  await new ChatStreamRelay(deps, res, record, options).run();
}

/** A finished job's answer as a stream: its completion as chunks (the usage chunk if asked for), or its error. */
function replayEnded(res: Response, record: JobRecord, includeUsage: boolean): void {
  res.setHeader('x-sluice-job-id', record.id);
  if (record.provider !== null) res.setHeader('x-sluice-provider', record.provider);
  const completion = chatResult(record.result);
  if (record.status !== 'succeeded' || completion === null) throw failureOf(record);
  const chunks = completionChunks(completion).filter((chunk) => chunk.choices.length > 0 || includeUsage);
  res.writeHead(200, SSE_HEADERS);
  res.end(`${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')}data: [DONE]\n\n`);
}
