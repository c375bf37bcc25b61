import type { Response } from 'express';
import { completionChunks, getMetrics, isCluster } from '@sluice/shared';
import { chatResult, isTerminal, jobStreamKey, type Engine, type JobRecord, type JobStatus, type JobStreamEntry } from '@sluice/engine';
import { failureOf } from './job-failure.ts';
import { drained, SSE_HEADERS, startHeartbeat, truncatedError } from './sse.ts';
import type { StreamHub } from './stream-hub.ts';

/** What relaying a streamed chat completion reads. */
export type ChatStreamDeps = Pick<Engine, 'config' | 'store' | 'lifecycle' | 'logger' | 'redis'> & { streams: StreamHub };

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
class ChatStreamRelay {
  private started = false;
  private finished = false;
  private provider: string | null = null;
  /** The index of the next chunk this client should get. */
  private next = 0;
  private stop: () => void = () => undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private firstChunkTimer: NodeJS.Timeout | undefined;
  private settle: (error?: Error) => void = () => undefined;

  constructor(
    private readonly deps: ChatStreamDeps,
    private readonly res: Response,
    private readonly record: JobRecord,
    private readonly options: RelayOptions,
  ) {}

  /** Resolves when the stream has ended (or the client left); rejects, before any chunk, with the error to answer. */
  run(): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.settle = (error) => (error === undefined ? resolve() : reject(error));
    });
    const open = getMetrics().streamsOpen.labels({ side: 'client' });
    open.inc();
    void done.finally(() => open.dec()).catch(() => undefined);
    this.res.on('close', () => this.clientLeft());
    this.firstChunkTimer = setTimeout(() => this.finish(failureOf({ ...this.record, status: 'running' })), this.options.timeoutMs);
    this.stop = this.deps.streams.follow(jobStreamKey(this.deps.config.redis.prefix, this.record.id, isCluster(this.deps.redis)), '0-0', {
      onEntries: (entries) => this.relay(entries),
      onError: (error) => this.finish(this.started ? undefined : error),
    });
    return done;
  }

  /**
   * Writes what arrived. Returns a promise only when the hub must wait before reading more for this
   * client (its socket is full, or the end is being written): otherwise the next read includes it at once.
   */
  private relay(entries: readonly JobStreamEntry[]): void | Promise<void> {
    // Every chunk of one read goes out in one write: a fast provider costs a syscall per read, not per chunk.
    let out = '';
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
        // The stream dropped chunks this client had not read yet (past `jobs.stream_max_entries`).
        ending = 'truncated';
        break;
      }
      entry.chunks.forEach((chunk, n) => {
        // The usage chunk goes to clients that asked for it (`stream_options.include_usage`).
        if (entry.first + n >= this.next && (n !== entry.usage || this.options.includeUsage)) out += `data: ${chunk}\n\n`;
      });
      this.next = Math.max(this.next, entry.first + entry.chunks.length);
      if (!this.started) this.begin();
    }
    const room = out === '' || this.res.write(out);
    if (ending === 'truncated') return this.truncated();
    if (ending !== null) return this.end(ending);
    if (!room && !this.finished) return drained(this.res);
  }

  /** The reader fell further behind than the stream keeps: an error event, not a silently shortened answer. */
  private truncated(): void {
    if (!this.started) this.begin();
    this.res.write(`data: ${JSON.stringify({ error: truncatedError(this.record.id) })}\n\n`);
    this.finish();
  }

  private begin(): void {
    this.started = true;
    clearTimeout(this.firstChunkTimer);
    this.res.writeHead(200, { ...SSE_HEADERS, 'x-sluice-job-id': this.record.id, ...(this.provider === null ? {} : { 'x-sluice-provider': this.provider }) });
    this.heartbeat = startHeartbeat(this.res);
  }

  private async end(status: JobStatus): Promise<void> {
    if (status === 'succeeded') {
      if (!this.started) this.begin();
      this.res.write('data: [DONE]\n\n');
      this.finish();
      return;
    }
    const record = await this.deps.store.get(this.record.id).catch(() => null);
    if (!this.started) {
      this.finish(failureOf(record ?? { ...this.record, status }));
      return;
    }
    this.res.write(errorEvent(record, status));
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

  /** The client went away before the end: its job is canceled (its provider call aborted), unless a webhook is waiting for it or this request only replayed it. */
  private clientLeft(): void {
    if (this.finished) return;
    this.finish();
    if (this.record.webhook !== null || !this.options.cancelOnLeave) return;
    const canceled = { type: 'job_error', code: 'client_disconnected', message: 'the streaming client disconnected' };
    this.deps.lifecycle
      .end(this.record, { to: 'canceled', error: canceled })
      .then((outcome) => {
        if (outcome.ok) this.deps.logger.info({ job_id: this.record.id, tenant: this.record.tenant, outcome: 'canceled', reason: 'client_disconnected' }, 'streaming client left: job canceled');
      })
      .catch((error: Error) => this.deps.logger.warn({ job_id: this.record.id, err: error.message }, 'could not cancel the job of a streaming client that left'));
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
