import type { Response } from 'express';
import { getMetrics, isCluster } from '@sluice/shared';
import { isTerminal, jobLogFields, jobStreamKey, type Engine, type JobRecord, type JobStatus, type JobStreamEntry } from '@sluice/engine';
import { failureOf } from './job-failure.ts';
import { drained, SSE_HEADERS, startHeartbeat } from './sse.ts';
import type { StreamHub } from './stream-hub.ts';

/** What relaying a streamed job reads. */
export type StreamRelayDeps = Pick<Engine, 'config' | 'store' | 'lifecycle' | 'logger' | 'redis'> & { streams: StreamHub };

/** A delta entry of a job's stream. */
export type DeltaEntry = Extract<JobStreamEntry, { kind: 'delta' }>;

export interface StreamRelayOptions {
  /**
   * A synchronous request: nothing goes out before the first chunk, so a job that fails before it
   * (after every retry and failover) answers with its HTTP error, as a non-streamed request would;
   * no chunk within `timeoutMs` is a 504. Null: the headers (and the opening) go out at once.
   */
  hold: { timeoutMs: number } | null;
  /** The client leaving cancels the job (it made the job in the foreground, and the job has no webhook). */
  cancelOnLeave: boolean;
}

/**
 * Relays one streamed job's output stream to one HTTP client as server-sent events, from the
 * stream's start: the format (chat chunks, Responses events) is the subclass's, the rest is here:
 * following the stream through the hub, one write per read, back-pressure, the first-chunk wait,
 * the end (after the terminal status), a reader the stream's trimming left behind, heartbeats, and
 * the client leaving (which cancels the job, unless it has a webhook or `cancelOnLeave` is false).
 */
export abstract class StreamRelay {
  private provider: string | null = null;
  private started = false;
  private finished = false;
  /** The index of the next chunk this client should get. */
  private next = 0;
  private stop: () => void = () => undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private firstChunkTimer: NodeJS.Timeout | undefined;
  private settle: (error?: Error) => void = () => undefined;

  constructor(
    protected readonly deps: StreamRelayDeps,
    protected readonly res: Response,
    protected readonly record: JobRecord,
    private readonly options: StreamRelayOptions,
  ) {}

  /** What an entry's chunks from its `from`-th on add to the stream. */
  protected abstract chunkText(entry: DeltaEntry, from: number): string;

  /** The end of a stream whose start went out; `record` is the job as it ended (null when not read: a success, unless `readsRecordAtSuccess`). */
  protected abstract endText(status: JobStatus, record: JobRecord | null): string;

  /** The error that ends the stream of a reader whose chunks were dropped before it read them (past `jobs.stream_max_entries`). */
  protected abstract truncatedText(): string;

  /** What goes out right after the headers. */
  protected opening(): string {
    return '';
  }

  /** Whether the job's record is read at a success (it always is at another end). */
  protected readsRecordAtSuccess(): boolean {
    return false;
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
        ending = 'truncated';
        break;
      }
      out += this.chunkText(entry, Math.max(0, this.next - entry.first));
      this.next = Math.max(this.next, entry.first + entry.chunks.length);
      if (!this.started) this.begin();
    }
    const room = out === '' || this.res.write(out);
    if (ending === 'truncated') return this.truncated();
    if (ending !== null) return this.end(ending);
    if (!room && !this.finished) return drained(this.res);
  }

  private truncated(): void {
    if (!this.started) this.begin();
    this.res.write(this.truncatedText());
    this.finish();
  }

  private begin(): void {
    this.started = true;
    clearTimeout(this.firstChunkTimer);
    this.res.writeHead(200, { ...SSE_HEADERS, 'x-sluice-job-id': this.record.id, ...(this.provider === null ? {} : { 'x-sluice-provider': this.provider }) });
    const opening = this.opening();
    if (opening !== '') this.res.write(opening);
    this.heartbeat = startHeartbeat(this.res);
  }

  private async end(status: JobStatus): Promise<void> {
    const record = status === 'succeeded' && !this.readsRecordAtSuccess() ? null : await this.deps.store.get(this.record.id).catch(() => null);
    if (this.finished) return;
    if (!this.started && status !== 'succeeded') {
      this.finish(failureOf(record ?? { ...this.record, status }));
      return;
    }
    if (!this.started) this.begin();
    this.res.write(this.endText(status, record));
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

  /** The client went away before the end: its job is canceled (its provider call aborted), unless a webhook is waiting for it or this client only reads along. */
  private clientLeft(): void {
    if (this.finished) return;
    this.finish();
    if (this.record.webhook !== null || !this.options.cancelOnLeave) return;
    const canceled = { type: 'job_error', code: 'client_disconnected', message: 'the streaming client disconnected' };
    this.deps.lifecycle
      .end(this.record, { to: 'canceled', error: canceled })
      .then((outcome) => {
        if (outcome.ok) this.deps.logger.info({ ...jobLogFields(this.record), outcome: 'canceled', reason: 'client_disconnected' }, 'streaming client left: job canceled');
      })
      .catch((error: Error) => this.deps.logger.warn({ ...jobLogFields(this.record), err: error.message }, 'could not cancel the job of a streaming client that left'));
  }
}
