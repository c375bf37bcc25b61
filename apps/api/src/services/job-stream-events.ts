import type { Response } from 'express';
import { getMetrics, isCluster, type Redis } from '@sluice/shared';
import { decodeStreamEntries, decodeStreamEntry, isTerminal, jobStreamKey, toJobObject, type Engine, type JobRecord, type JobStreamEntry } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import { drained, SSE_HEADERS, startHeartbeat, truncatedError } from './sse.ts';
import type { StreamHub } from './stream-hub.ts';

/** What a streamed job's event stream reads. */
export type JobStreamEventsDeps = Pick<Engine, 'config' | 'store' | 'redis'> & { streams: StreamHub };

/**
 * Where a reader resumes: after the entry `entry`, and, when the id named a delta (`<entry>.<n>`),
 * after its chunk `chunk` of that entry.
 */
interface Position {
  entry: string;
  chunk: number | null;
}

const EVENT_ID = /^(\d{1,20}-\d{1,20})(?:\.(\d{1,6}))?$/;

/** A `Last-Event-ID` of this stream, or a 400 naming the header. */
export function parseLastEventId(header: string | undefined): Position | null {
  if (header === undefined || header === '') return null;
  const match = EVENT_ID.exec(header.trim());
  if (match === null) {
    throw new ApiError(`Last-Event-ID "${header.slice(0, 64)}" is not an event id of this stream (expected an id it sent, like 1764570000000-0 or 1764570000000-1.3)`, {
      status: 400, type: 'invalid_request_error', code: 'invalid_last_event_id', param: 'Last-Event-ID',
    });
  }
  return { entry: match[1] as string, chunk: match[2] === undefined ? null : Number(match[2]) };
}

/**
 * Events of a streamed job, from its output stream: `status` events (the job object; a status
 * before the end carries its id, status and provider, so every reader gets the same data for the
 * same id) and a `delta` event per chunk, `id: <entry>.<n>`. Ends after the terminal status.
 */
class JobStreamEvents {
  private finished = false;
  private stop: () => void = () => undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  /** The index of the next chunk this reader should get: null when resuming after a status event (the first delta sets it). */
  private next: number | null = 0;

  constructor(
    private readonly deps: JobStreamEventsDeps,
    private readonly res: Response,
    private readonly record: JobRecord,
    private readonly release: () => void,
  ) {}

  async run(key: string, from: Position | null, resumeEntry: JobStreamEntry | null): Promise<void> {
    this.res.writeHead(200, SSE_HEADERS);
    getMetrics().streamsOpen.labels({ side: 'client' }).inc();
    this.res.on('close', () => this.finish());
    try {
      await this.start(key, from, resumeEntry);
    } catch {
      this.finish(); // Redis failed before the stream was followed: end it rather than hold the reader
    }
  }

  private async start(key: string, from: Position | null, resumeEntry: JobStreamEntry | null): Promise<void> {
    if (from !== null) this.next = resumeEntry?.kind === 'delta' && from.chunk !== null ? resumeEntry.first + from.chunk + 1 : null;
    if (isTerminal(this.record.status)) {
      // Everything is in Redis already, the end included (or the reader has had it): no following.
      const rest = await this.deps.redis.xrange(key, from === null ? '-' : from.chunk === null ? `(${from.entry}` : from.entry, '+');
      await this.send(decodeStreamEntries(rest));
      this.finish();
      return;
    }
    if (resumeEntry !== null) await this.send([resumeEntry]); // the rest of the entry it stopped inside
    if (this.finished) return;
    this.heartbeat = startHeartbeat(this.res);
    this.stop = this.deps.streams.follow(key, from?.entry ?? '0-0', {
      onEntries: (entries) => this.send(entries),
      onError: () => this.finish(),
    });
  }

  /**
   * Writes the chunks from `next` on and the statuses of `entries`, ending after a terminal status,
   * or with an error event when chunks the reader never had were dropped. A promise only when the
   * hub must wait (a full socket, or the end's job object being read).
   */
  private send(entries: readonly JobStreamEntry[]): void | Promise<void> {
    if (this.finished) return;
    // One write per read, whatever the number of chunks in it.
    let out = '';
    let ending: JobStreamEntry | 'truncated' | null = null;
    for (const entry of entries) {
      if (entry.kind === 'delta') {
        this.next ??= entry.first;
        if (entry.first > this.next) {
          ending = 'truncated';
          break;
        }
        out += this.deltaEvents(entry, this.next);
        this.next = Math.max(this.next, entry.first + entry.chunks.length);
      } else if (isTerminal(entry.status)) {
        ending = entry;
        break;
      } else {
        out += `id: ${entry.id}\nevent: status\ndata: ${JSON.stringify({ id: this.record.id, object: 'job', status: entry.status, provider: entry.provider })}\n\n`;
      }
    }
    const room = out === '' || this.res.write(out);
    if (ending === 'truncated') return this.sendTruncated();
    if (ending !== null) return this.sendEnd(ending);
    if (!room) return drained(this.res);
  }

  /** An entry's chunks from the stream's chunk `from` on, one event each (the usage chunk only if the job asked for it). */
  private deltaEvents(entry: Extract<JobStreamEntry, { kind: 'delta' }>, from: number): string {
    let out = '';
    entry.chunks.forEach((chunk, n) => {
      if (entry.first + n < from || (n === entry.usage && this.record.stream?.include_usage !== true)) return;
      out += `id: ${entry.id}.${n}\nevent: delta\ndata: ${chunk}\n\n`;
    });
    return out;
  }

  private sendTruncated(): void {
    this.res.write(`event: error\ndata: ${JSON.stringify({ error: truncatedError(this.record.id) })}\n\n`);
    this.finish();
  }

  /** The terminal status event, with the whole job object, and the end of the stream. */
  private async sendEnd(entry: JobStreamEntry): Promise<void> {
    const data = await this.finalObject();
    if (this.finished) return;
    this.res.write(`id: ${entry.id}\nevent: status\ndata: ${JSON.stringify(data)}\n\n`);
    this.finish();
  }

  private async finalObject(): Promise<unknown> {
    const record = await this.deps.store.get(this.record.id).catch(() => null);
    return toJobObject(record ?? this.record);
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.heartbeat);
    this.stop();
    getMetrics().streamsOpen.labels({ side: 'client' }).dec();
    this.release();
    this.res.end();
  }
}

/** True when the job's output stream is still kept (`jobs.stream_retention_s` after its end). */
export async function outputStreamKept(redis: Redis, prefix: string, id: string): Promise<boolean> {
  return (await redis.exists(jobStreamKey(prefix, id, isCluster(redis)))) === 1;
}

/** Redis stream ids compare as two unsigned 64-bit numbers. */
function idParts(id: string): [bigint, bigint] {
  const [ms = '0', seq = '0'] = id.split('-');
  return [BigInt(ms), BigInt(seq)];
}

const compareIds = (a: string, b: string): number => {
  const [x, y] = [idParts(a), idParts(b)];
  return x[0] === y[0] ? Number(x[1] - y[1]) : x[0] < y[0] ? -1 : 1;
};

/** A 400 for a `Last-Event-ID` this stream never sent. */
function notAnEventId(header: string): ApiError {
  return new ApiError(`Last-Event-ID "${header.slice(0, 64)}" is not an event id this stream sent`, {
    status: 400, type: 'invalid_request_error', code: 'invalid_last_event_id', param: 'Last-Event-ID',
  });
}

/**
 * Checks a resume point against the stream before anything is sent: an id past its last entry, or a
 * chunk its entry does not have, is a 400 (a reader must not wait for an id that will never come).
 * Returns the entry a delta id points into (its remaining chunks go out first).
 */
async function checkResume(redis: Redis, key: string, from: Position): Promise<JobStreamEntry | null> {
  const [ms, seq] = idParts(from.entry);
  const label = `${from.entry}${from.chunk === null ? '' : `.${from.chunk}`}`;
  if (ms >= 2n ** 64n || seq >= 2n ** 64n) throw notAnEventId(label);
  const [last] = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  if (last === undefined || compareIds(from.entry, last[0]) > 0) throw notAnEventId(label);
  if (from.chunk === null) return null;
  const [found] = await redis.xrange(key, from.entry, from.entry);
  const entry = found === undefined ? null : decodeStreamEntry(found[0], found[1]);
  if (entry?.kind !== 'delta' || from.chunk >= entry.chunks.length) throw notAnEventId(label);
  return entry;
}

/**
 * `GET /v1/jobs/{id}/events` of a streamed job whose output stream is kept: every reader, live or
 * late, gets the same events with the same ids from the stream's start, or from right after its
 * `Last-Event-ID`. `take` takes the reader's waiter slot (its result is called once when the stream ends).
 */
export async function streamJobOutput(deps: JobStreamEventsDeps, res: Response, record: JobRecord, from: Position | null, take: () => () => void): Promise<void> {
  const key = jobStreamKey(deps.config.redis.prefix, record.id, isCluster(deps.redis));
  const resumeEntry = from === null ? null : await checkResume(deps.redis, key, from);
  await new JobStreamEvents(deps, res, record, take()).run(key, from, resumeEntry);
}
