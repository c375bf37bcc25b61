import type { Response } from 'express';
import { completionChunks, type ChatCompletionChunk } from '@sluice/shared';
import { chatResult, isTerminal, type JobRecord, type JobStatus } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import { failureOf } from '../services/job-failure.ts';
import { outputStreamKept } from '../services/job-stream-events.ts';
import { SSE_HEADERS, truncatedError } from '../services/sse.ts';
import { StreamRelay, type DeltaEntry, type StreamRelayDeps, type StreamRelayOptions } from '../services/stream-relay.ts';
import { endingEvents, isResponseRecord, openingEvents, type ResponseRecord } from './response-object.ts';
import { ResponseEventBuilder, type ResponseEvent } from './response-events.ts';

/** What streaming a response reads. */
export type ResponseStreamDeps = StreamRelayDeps;

/** `hold` is set for a foreground request (`stream: true` without `background`); a background stream's events go out from the start. */
export interface ResponseStreamOptions extends StreamRelayOptions {
  /** Events up to this `sequence_number` are not sent (a reader resuming); null sends every one. */
  startingAfter: number | null;
}

const sse = (events: readonly ResponseEvent[], after: number | null): string =>
  events
    .filter((event) => after === null || event.sequence_number > after)
    .map((event) => `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`)
    .join('');

/**
 * Relays one response's job stream as the Responses event stream. The events are built from the
 * stream's start whatever the reader's position (`ResponseEventBuilder` numbers them from the
 * chunks alone), and those after `startingAfter` are written, so a resumed reader gets exactly the
 * events it had not had.
 */
class ResponseStreamRelay extends StreamRelay {
  private readonly builder: ResponseEventBuilder;
  private readonly openingEvents: ResponseEvent[];

  constructor(deps: ResponseStreamDeps, res: Response, private readonly response: ResponseRecord, private readonly streamOptions: ResponseStreamOptions) {
    super(deps, res, response, streamOptions);
    this.builder = new ResponseEventBuilder(response.id);
    this.openingEvents = openingEvents(this.builder, response);
  }

  protected override opening(): string {
    return sse(this.openingEvents, this.streamOptions.startingAfter);
  }

  protected chunkText(entry: DeltaEntry, from: number): string {
    return sse(entry.chunks.slice(from).flatMap((chunk) => this.builder.add(JSON.parse(chunk) as ChatCompletionChunk)), this.streamOptions.startingAfter);
  }

  protected override readsRecordAtSuccess(): boolean {
    return true;
  }

  protected endText(status: JobStatus, record: JobRecord | null): string {
    const ended = record !== null && isResponseRecord(record) ? record : { ...this.response, status };
    return sse(endingEvents(this.builder, ended), this.streamOptions.startingAfter);
  }

  protected truncatedText(): string {
    return sse([this.builder.error(truncatedError(this.response.id))], null);
  }
}

/** A response that has ended, as its event stream rebuilt from its record: its result as chunks, then its end. */
function replayEnded(res: Response, record: ResponseRecord, startingAfter: number | null): void {
  const builder = new ResponseEventBuilder(record.id);
  const events = openingEvents(builder, record);
  const completion = chatResult(record.result);
  for (const chunk of completion === null ? [] : completionChunks(completion)) events.push(...builder.add(chunk));
  events.push(...endingEvents(builder, record));
  res.writeHead(200, { ...SSE_HEADERS, 'x-sluice-job-id': record.id, ...(record.provider === null ? {} : { 'x-sluice-provider': record.provider }) });
  res.end(sse(events, startingAfter));
}

/**
 * Streams a response's events to the client. A response whose job streams is read from its job's
 * stream, live or replayed, with the same events and numbers for every reader. One that has ended
 * without a kept stream (answered from the cache, not made to stream, or its stream lapsed after
 * `jobs.stream_retention_s`) is rebuilt from its record; a resume (`startingAfter`) of a stream
 * that lapsed is refused, since the rebuilt events are numbered otherwise.
 */
export async function streamResponse(deps: ResponseStreamDeps, res: Response, record: ResponseRecord, options: ResponseStreamOptions): Promise<void> {
  const kept = record.stream !== null && (await outputStreamKept(deps.redis, deps.config.redis.prefix, record.id));
  if (isTerminal(record.status) && !kept) {
    if (record.stream !== null && options.startingAfter !== null) {
      throw new ApiError(`The event stream of response ${record.id} is no longer kept (jobs.stream_retention_s after it ended): read it whole without starting_after, or GET it without stream`, {
        status: 400, type: 'invalid_request_error', code: 'stream_expired', param: 'starting_after',
      });
    }
    if (options.hold !== null && record.status !== 'succeeded') throw failureOf(record);
    replayEnded(res, record, options.startingAfter);
    return;
  }
  if (!kept) {
    throw new ApiError(`Response ${record.id} was not created with stream: true, so it has no event stream until it ends; poll GET /v1/responses/${record.id}`, {
      status: 400, type: 'invalid_request_error', code: 'response_not_streamed', param: 'stream',
    });
  }
  await new ResponseStreamRelay(deps, res, record, options).run();
}
