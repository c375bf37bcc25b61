import type { ChatCompletionChunk, Redis } from '@sluice/shared';
import { deltaFields } from './job-stream.ts';

/**
 * Appends a streamed job's output chunks to its stream as the provider yields them, in order. The
 * first chunk goes out at once; chunks that come while a write is in flight go together in the next
 * entry, so a fast provider costs one Redis write per round trip, not per chunk. Nothing waits on
 * the client: what a slow reader has not taken yet waits in Redis.
 *
 * Held until `start()`: the job's `running` status (written by the claim) comes before its first
 * delta. Writes never create the stream (`NOMKSTREAM`): a job whose stream has lapsed writes
 * nothing rather than leave a key without a TTL.
 */
export class DeltaWriter {
  private pending: ChatCompletionChunk[] = [];
  /** Chunks handed to Redis so far (the index of the next entry's first chunk). */
  private handed = 0;
  private writing: Promise<void> | null = null;
  private started = false;
  private failure: Error | null = null;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    private readonly maxEntries: number,
  ) {}

  /** A write failed: nothing more goes out, and `flush` throws. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Chunks pushed so far, written or not. */
  get count(): number {
    return this.handed + this.pending.length;
  }

  push(chunk: ChatCompletionChunk): void {
    if (this.failure !== null) return;
    this.pending.push(chunk);
    this.kick();
  }

  /** Lets writes begin (the job is claimed). */
  start(): void {
    this.started = true;
    this.kick();
  }

  /** Resolves once every chunk pushed so far is in Redis; throws if a write failed. */
  async flush(): Promise<void> {
    while (this.writing !== null) await this.writing;
    if (this.failure !== null) throw this.failure;
  }

  private kick(): void {
    if (this.started && this.writing === null && this.pending.length > 0) this.writing = this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        const first = this.handed;
        this.handed += batch.length;
        await this.redis.xadd(this.key, 'NOMKSTREAM', 'MAXLEN', '~', this.maxEntries, '*', ...deltaFields(first, batch));
      }
    } catch (error) {
      this.failure = error as Error;
      this.pending = [];
    } finally {
      this.writing = null;
    }
  }
}
