import type { Response } from 'express';
import { completionChunks, getMetrics, isCluster, type ChatCompletionChunk } from '@sluice/shared';
import { isTerminal, jobStreamKey, type Engine, type JobStatus, type JobStreamEntry } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import { failureOf } from '../services/job-failure.ts';
import { outputStreamKept } from '../services/job-stream-events.ts';
import { drained, SSE_HEADERS, startHeartbeat, truncatedError } from '../services/sse.ts';
import type { StreamHub } from '../services/stream-hub.ts';
import { endingEvents, isResponseRecord, openingEvents, type ResponseRecord } from './response-object.ts';
import { ResponseEventBuilder, type ResponseEvent } from './response-events.ts';

/** What streaming a response reads. */
export type ResponseStreamDeps = Pick<Engine, 'config' | 'store' | 'lifecycle' | 'logger' | 'redis'> & { streams: StreamHub };

export interface ResponseStreamOptions {
  /**
   * A synchronous request (`stream: true` without `background`): nothing goes out before the first
   * output chunk, so a job that fails before it answers with its HTTP error, as a non-streamed
   * request would; no chunk within `timeoutMs` is a 504. Null: the events go out from the start.
   */
  hold: { timeoutMs: number } | null;
  /** The client leaving cancels the job (it made the job, in the foreground, and the job has no webhook). */
  cancelOnLeave: boolean;
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
 * events it had not had. Ends after the job's terminal status.
 */
class ResponseStreamRelay {
  private readonly builder: ResponseEventBuilder;
  private readonly opening: ResponseEvent[];
  private started = false;
  private finished = false;
  private provider: string | null = null;
  /** The index of the next chunk to turn into events. */
  private next = 0;
  private stop: () => void = () => undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private firstChunkTimer: NodeJS.Timeout | undefined;
  private settle: (error?: Error) => void = () => undefined;

  constructor(
    private readonly deps: ResponseStreamDeps,
    private readonly res: Response,
    private readonly record: ResponseRecord,
    private readonly options: ResponseStreamOptions,
  ) {
    this.builder = new ResponseEventBuilder(record.id);
    this.opening = openingEvents(this.builder, record);
  }

  /** Resolves when the stream has ended (or the client left); rejects, in a held stream before its first chunk, with the error to answer. */
  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    const open = getMetrics().streamsOpen.labels({ side: 'client' });
    open.inc();
    void done.finally(() => open.dec()).catch(() => undefined);
    this.res.on('close', () => this.clientLeft());
    const { hold } = this.options;
    if (hold === null) this.begin();
    else this.firstChunkTimer = setTimeout(() => this.finish(failureOf({ ...this.record, status: 'running' })), hold.timeoutMs);
    this.stop = this.deps.streams.follow(jobStreamKey(this.deps.config.redis.prefix, this.record.id, isCluster(this.deps.redis)), '0-0', {
      onEntries: (entries) => this.relay(entries),
      onError: (error) => this.finish(this.started ? undefined : error),
    });
    return done;
  }

  /** Writes the events of what arrived in one write; a promise only when the hub must wait (a full socket, or the end being read). */
  private relay(entries: readonly JobStreamEntry[]): void | Promise<void> {
    const events: ResponseEvent[] = [];
    let ending: JobStatus | 'truncated' | null = null;
    for (const entry of entries) {
      if (entry.kind === 'status') {
        this.provider = entry.provider ?? this.provider;
        if (isTerminal(entry.status)) {
          ending = entry.status;
          break;
        }
        continue;
      }
      if (entry.first > this.next) {
        // The stream dropped chunks before this reader built their events (past `jobs.stream_max_entries`).
        ending = 'truncated';
        break;
      }
      entry.chunks.forEach((chunk, n) => {
        if (entry.first + n >= this.next) events.push(...this.builder.add(JSON.parse(chunk) as ChatCompletionChunk));
      });
      this.next = Math.max(this.next, entry.first + entry.chunks.length);
      if (!this.started) this.begin();
    }
    const text = sse(events, this.options.startingAfter);
    const room = text === '' || this.res.write(text);
    if (ending === 'truncated') return this.truncated();
    if (ending !== null) return this.end(ending);
    if (!room && !this.finished) return drained(this.res);
  }

  /** Headers, then the opening events. */
  private begin(): void {
    this.started = true;
    clearTimeout(this.firstChunkTimer);
    this.res.writeHead(200, { ...SSE_HEADERS, 'x-sluice-job-id': this.record.id, ...(this.provider === null ? {} : { 'x-sluice-provider': this.provider }) });
    this.res.write(sse(this.opening, this.options.startingAfter));
    this.heartbeat = startHeartbeat(this.res);
  }

  private truncated(): void {
    if (!this.started) this.begin();
    this.res.write(sse([this.builder.error(truncatedError(this.record.id))], null));
    this.finish();
  }

  private async end(status: JobStatus): Promise<void> {
    const read = await this.deps.store.get(this.record.id).catch(() => null);
    const record = read !== null && isResponseRecord(read) ? read : { ...this.record, status };
    if (this.finished) return;
    if (!this.started && status !== 'succeeded') {
      this.finish(failureOf(record));
      return;
    }
    if (!this.started) this.begin();
    this.res.write(sse(endingEvents(this.builder, record), this.options.startingAfter));
    this.finish();
  }

  /** Ends the relay: the response (unless `error` is to be answered instead), the reads, the timers. */
  private finish(error?: Error): void {
    if (this.finished) return;
    this.finished = true;
    clearTimeout(this.firstChunkTimer);
    clearInterval(this.heartbeat);
    this.stop();
    if (error === undefined || this.started) this.res.end();
    if (error !== undefined && !this.started) {
      this.res.setHeader('x-sluice-job-id', this.record.id);
      if (this.provider !== null) this.res.setHeader('x-sluice-provider', this.provider);
    }
    this.settle(this.started ? undefined : error);
  }

  /** The client went away before the end: a foreground response's job is canceled (its provider call aborted), unless a webhook is waiting for it. */
  private clientLeft(): void {
    if (this.finished) return;
    this.finish();
    if (this.record.webhook !== null || !this.options.cancelOnLeave) return;
    const canceled = { type: 'job_error', code: 'client_disconnected', message: 'the streaming client disconnected' };
    this.deps.lifecycle
      .end(this.record, { to: 'canceled', error: canceled })
      .then((outcome) => {
        if (outcome.ok) this.deps.logger.info({ job_id: this.record.id, tenant: this.record.tenant, outcome: 'canceled', reason: 'client_disconnected' }, 'streaming client left: response canceled');
      })
      .catch((error: Error) => this.deps.logger.warn({ job_id: this.record.id, err: error.message }, 'could not cancel the response of a streaming client that left'));
  }
}

/** A response that has ended, as its event stream rebuilt from its record: its result as chunks, then its end. */
function replayEnded(res: Response, record: ResponseRecord, startingAfter: number | null): void {
  const builder = new ResponseEventBuilder(record.id);
  const events = openingEvents(builder, record);
  for (const chunk of record.result === null ? [] : completionChunks(record.result)) events.push(...builder.add(chunk));
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
