import type { Response } from 'express';
import { getMetrics, type Redis } from '@sluice/shared';
import { decodeStreamEntry, isTerminal, jobStreamKey, toJobObject, type Engine, type JobRecord, type JobStreamEntry } from '@sluice/engine';
import { ApiError } from '../api-error.ts';
import { drained, HEARTBEAT_MS, SSE_HEADERS } from './sse.ts';
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

  constructor(
    private readonly deps: JobStreamEventsDeps,
    private readonly res: Response,
    private readonly record: JobRecord,
    private readonly release: () => void,
  ) {}

  async run(key: string, from: Position | null): Promise<void> {
    this.res.writeHead(200, SSE_HEADERS);
    getMetrics().streamsOpen.labels({ side: 'client' }).inc();
    this.res.on('close', () => this.finish());
    if (from !== null && from.chunk !== null) {
      // The rest of the entry the reader stopped inside.
      const [found] = await this.deps.redis.xrange(key, from.entry, from.entry);
      const entry = found === undefined ? null : decodeStreamEntry(found[0], found[1]);
      if (entry?.kind === 'delta') await this.send([entry], from.chunk + 1);
    }
    if (this.finished) return;
    if (isTerminal(this.record.status)) {
      // Everything is in Redis already, the end included (or the reader has had it): no following.
      const rest = await this.deps.redis.xrange(key, from === null ? '-' : `(${from.entry}`, '+');
      await this.send(decodeAll(rest), 0);
      this.finish();
      return;
    }
    this.heartbeat = setInterval(() => this.res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    this.stop = this.deps.streams.follow(key, from?.entry ?? '0-0', {
      onEntries: (entries) => this.send(entries, 0),
      onError: () => this.finish(),
    });
  }

  /**
   * Writes `entries` (the first from its chunk `skip`), ending after a terminal status. A promise
   * only when the hub must wait (a full socket, or the end's job object being read).
   */
  private send(entries: readonly JobStreamEntry[], skip: number): void | Promise<void> {
    if (this.finished) return;
    // One write per read, whatever the number of chunks in it.
    let out = '';
    let ending: JobStreamEntry | null = null;
    for (const [index, entry] of entries.entries()) {
      if (entry.kind === 'delta') {
        entry.chunks.forEach((chunk, n) => {
          if (index > 0 || n >= skip) out += `id: ${entry.id}.${n}\nevent: delta\ndata: ${chunk}\n\n`;
        });
      } else if (isTerminal(entry.status)) {
        ending = entry;
        break;
      } else {
        out += `id: ${entry.id}\nevent: status\ndata: ${JSON.stringify({ id: this.record.id, object: 'job', status: entry.status, provider: entry.provider })}\n\n`;
      }
    }
    const room = out === '' || this.res.write(out);
    if (ending !== null) return this.sendEnd(ending);
    if (!room) return drained(this.res);
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

function decodeAll(found: [string, string[]][]): JobStreamEntry[] {
  return found.map(([id, fields]) => decodeStreamEntry(id, fields)).filter((entry): entry is JobStreamEntry => entry !== null);
}

/** True when the job's output stream is still kept (`jobs.stream_retention_s` after its end). */
export async function outputStreamKept(redis: Redis, prefix: string, id: string): Promise<boolean> {
  return (await redis.exists(jobStreamKey(prefix, id))) === 1;
}

/**
 * `GET /v1/jobs/{id}/events` of a streamed job whose output stream is kept: every reader, live or
 * late, gets the same events with the same ids from the stream's start, or from right after its
 * `Last-Event-ID`. `release` is called once when the stream ends.
 */
export async function streamJobOutput(deps: JobStreamEventsDeps, res: Response, record: JobRecord, from: Position | null, release: () => void): Promise<void> {
  await new JobStreamEvents(deps, res, record, release).run(jobStreamKey(deps.config.redis.prefix, record.id), from);
}
