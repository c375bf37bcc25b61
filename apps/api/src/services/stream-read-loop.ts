import { setTimeout as sleep } from 'node:timers/promises';
import { isConnectionError, type Logger, type Redis } from '@sluice/shared';
import { decodeStreamEntry, type JobStreamEntry } from '@sluice/engine';
import type { StreamFollower } from './stream-hub.ts';

/** How a loop reads (`StreamHubOptions` with their defaults applied). */
export interface ReadSettings {
  /** BLOCK of each XREAD, in ms. */
  blockMs: number;
  /** COUNT of each XREAD: entries per key at most. */
  count: number;
}

type RawEntry = [id: string, fields: string[]];
type ReadReply = [key: string, entries: RawEntry[]][];

/** What a followed key asks of the hub: to drop a follower that failed. */
export interface FollowerHost {
  fail(following: Following, error: Error): void;
}

/** One follower's state: the id it has been given entries up to, and whether it is holding the hub back. */
export interface Following {
  readonly followed: FollowedKey;
  readonly follower: StreamFollower;
  after: string;
  waiting: boolean;
  stopped: boolean;
}

/** The key and id an XREAD reads from, for one followed key. */
interface Planned {
  followed: FollowedKey;
  id: string;
}

/** A read sent and not answered yet, and whether an unblock of it is under way. */
interface InFlight {
  plan: Map<string, Planned>;
  unblocking: boolean;
}

const STREAM_ID = /^(\d{1,20})-(\d{1,20})$/;
const MAX_ID_PART = 2n ** 64n - 1n;
const MAX_UNBLOCK_ATTEMPTS = 20;

/** `after` in the form Redis returns ids (no leading zeros), so ids compare without parsing. */
export function streamId(after: string): string {
  const match = STREAM_ID.exec(after);
  const [ms, seq] = match === null ? [] : [BigInt(match[1] as string), BigInt(match[2] as string)];
  if (ms === undefined || seq === undefined || ms > MAX_ID_PART || seq > MAX_ID_PART) throw new RangeError(`not a stream entry id: ${after}`);
  return `${ms}-${seq}`;
}

/** Compares the digit runs `a[aFrom, aTo)` and `b[bFrom, bTo)` as numbers, without allocating. */
function compareDigits(a: string, aFrom: number, aTo: number, b: string, bFrom: number, bTo: number): number {
  const lengths = aTo - aFrom - (bTo - bFrom);
  if (lengths !== 0) return Math.sign(lengths);
  for (let offset = 0; aFrom + offset < aTo; offset += 1) {
    const difference = a.charCodeAt(aFrom + offset) - b.charCodeAt(bFrom + offset);
    if (difference !== 0) return Math.sign(difference);
  }
  return 0;
}

/** Negative, zero or positive as stream entry id `a` comes before, is, or comes after `b`. */
export function compareStreamIds(a: string, b: string): number {
  if (a === b) return 0;
  const aDash = a.indexOf('-');
  const bDash = b.indexOf('-');
  return compareDigits(a, 0, aDash, b, 0, bDash) || compareDigits(a, aDash + 1, a.length, b, bDash + 1, b.length);
}

/** Index of the first of `entries` (in id order) after id `after`. */
function firstAfter(entries: readonly RawEntry[], after: string): number {
  let low = 0;
  let high = entries.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (compareStreamIds((entries[middle] as RawEntry)[0], after) <= 0) low = middle + 1;
    else high = middle;
  }
  return low;
}

const asError = (error: unknown): Error => (error instanceof Error ? error : new Error(String(error)));

/** One round's entries of a key, decoded once whatever the number of followers. */
class DecodedRound {
  private readonly decoded: (JobStreamEntry | null)[];
  /** Every entry Sluice wrote (the others are skipped), shared by the followers that take them all. */
  readonly all: JobStreamEntry[] = [];

  constructor(raw: readonly RawEntry[]) {
    this.decoded = raw.map(([id, fields]) => decodeStreamEntry(id, fields));
    for (const entry of this.decoded) if (entry !== null) this.all.push(entry);
  }

  /** The entries from index `start` on. */
  from(start: number): JobStreamEntry[] {
    if (start === 0) return this.all;
    const entries: JobStreamEntry[] = [];
    for (let index = start; index < this.decoded.length; index += 1) {
      const entry = this.decoded[index];
      if (entry !== null && entry !== undefined) entries.push(entry);
    }
    return entries;
  }
}

/** A key with at least one follower, and the loop that reads it. */
export class FollowedKey {
  readonly followers = new Set<Following>();

  constructor(
    readonly key: string,
    readonly loop: ReadLoop,
    readonly host: FollowerHost,
  ) {}

  /** Where to read from: the smallest position among the followers ready for more, or null when none is. */
  position(): string | null {
    let lowest: string | null = null;
    for (const following of this.followers) {
      if (!following.waiting && (lowest === null || compareStreamIds(following.after, lowest) < 0)) lowest = following.after;
    }
    return lowest;
  }

  /**
   * Hands the entries read after `readId` to each ready follower, from its own position. A follower
   * behind `readId` (it joined or came back during the read) would see a gap: it waits for the next round.
   */
  deliver(readId: string, raw: readonly RawEntry[]): void {
    const last = raw[raw.length - 1]?.[0];
    if (last === undefined) return;
    let round: DecodedRound | null = null;
    for (const following of this.followers) {
      if (following.waiting || compareStreamIds(following.after, readId) < 0 || compareStreamIds(following.after, last) >= 0) continue;
      round ??= new DecodedRound(raw);
      const entries = following.after === readId ? round.all : round.from(firstAfter(raw, following.after));
      // Past the entries Sluice did not write as well: they are skipped, not read again.
      following.after = last;
      if (entries.length > 0) this.offer(following, entries);
    }
  }

  private offer(following: Following, entries: readonly JobStreamEntry[]): void {
    let result: void | Promise<void>;
    try {
      result = following.follower.onEntries(entries);
    } catch (error) {
      this.host.fail(following, asError(error));
      return;
    }
    if (typeof (result as Promise<void> | undefined)?.then !== 'function') return;
    following.waiting = true;
    (result as Promise<void>).then(
      () => this.resume(following),
      (error: unknown) => this.host.fail(following, asError(error)),
    );
  }

  private resume(following: Following): void {
    following.waiting = false;
    if (!following.stopped) this.loop.wake(this, following.after);
  }
}

/**
 * Reads the keys `keys()` yields (those with a follower ready for more) with one blocking XREAD at a
 * time on its own connection, and hands each round to the keys' followers. With an `unblocker` (a
 * non-blocking connection to the same server) a read in flight that does not cover a key or position
 * that just became ready is cut short with CLIENT UNBLOCK, at most once per read.
 */
export class ReadLoop {
  private closed = false;
  private inFlight: InFlight | null = null;
  /** The blocking connection's CLIENT ID, asked again after every disconnection. */
  private clientId: Promise<number> | null = null;
  /** Ends an idle wait (nothing to read, or the connection not ready): wake(), 'ready', close(). */
  private rouse: (() => void) | null = null;
  /** Ends a backoff early: close() only. */
  private alarm: AbortController | null = null;
  private failures = 0;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly connection: Redis,
    private readonly keys: () => Iterable<FollowedKey>,
    private readonly unblocker: Redis | null,
    private readonly logger: Logger,
    private readonly settings: ReadSettings,
  ) {
    connection.on('close', () => (this.clientId = null));
    connection.on('ready', () => this.wakeIdle());
  }

  /** Starts reading, once `keys()` can be called. */
  start(): this {
    this.running = this.run();
    return this;
  }

  /** `followed` has a follower ready for more from `position`: make sure a read will cover it soon. */
  wake(followed: FollowedKey, position: string): void {
    if (this.closed || this.wakeIdle()) return;
    const read = this.inFlight;
    // Between reads the next plan sees it; without an unblocker (a Cluster) the read in flight ends on its own.
    if (read === null || read.unblocking || this.unblocker === null) return;
    const planned = read.plan.get(followed.key);
    if (planned !== undefined && planned.followed === followed && compareStreamIds(planned.id, position) <= 0) return;
    read.unblocking = true;
    // Every follow of this tick is in the next plan: one unblock serves them all.
    queueMicrotask(() => void this.unblock(read, this.unblocker as Redis));
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wakeIdle();
    this.alarm?.abort();
    this.connection.disconnect();
    await this.running;
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const plan = this.plan();
      if (plan.size === 0 || this.connection.status !== 'ready') await new Promise<void>((resolve) => (this.rouse = resolve));
      else await this.round(plan);
    }
  }

  private wakeIdle(): boolean {
    const rouse = this.rouse;
    this.rouse = null;
    rouse?.();
    return rouse !== null;
  }

  private plan(): Map<string, Planned> {
    const plan = new Map<string, Planned>();
    for (const followed of this.keys()) {
      const id = followed.position();
      if (id !== null) plan.set(followed.key, { followed, id });
    }
    return plan;
  }

  private async round(plan: Map<string, Planned>): Promise<void> {
    this.inFlight = { plan, unblocking: false };
    let reply: ReadReply | null;
    try {
      reply = await this.read(plan);
    } catch (error) {
      this.inFlight = null;
      if (!this.closed) await this.recover(plan, asError(error));
      return;
    }
    this.inFlight = null;
    this.failures = 0;
    if (reply === null || this.closed) return;
    for (const [key, entries] of reply) {
      const planned = plan.get(key);
      planned?.followed.deliver(planned.id, entries);
    }
  }

  /** XREAD of every planned key from its id; CLIENT ID goes first on the same connection when unknown. */
  private read(plan: Map<string, Planned>): Promise<ReadReply | null> {
    if (this.unblocker !== null && this.clientId === null) {
      const asked = this.connection.client('ID');
      this.clientId = asked;
      asked.catch(() => {
        if (this.clientId === asked) this.clientId = null;
      });
    }
    const keys: string[] = [];
    const ids: string[] = [];
    for (const [key, planned] of plan) {
      keys.push(key);
      ids.push(planned.id);
    }
    return this.connection.call('XREAD', 'COUNT', this.settings.count, 'BLOCK', this.settings.blockMs, 'STREAMS', ...keys, ...ids) as Promise<ReadReply | null>;
  }

  /**
   * Ends `read` early. CLIENT UNBLOCK goes on another connection, so it can reach Redis before the
   * XREAD it is meant for: while that read is still unanswered and was not unblocked, try again.
   */
  private async unblock(read: InFlight, unblocker: Redis): Promise<void> {
    for (let attempt = 1; attempt <= MAX_UNBLOCK_ATTEMPTS && this.inFlight === read; attempt += 1) {
      try {
        const id = await this.clientId;
        if (id === null || this.inFlight !== read) return;
        if ((await unblocker.call('CLIENT', 'UNBLOCK', id)) === 1) return;
      } catch {
        return; // Redis is away: the read fails or times out by itself.
      }
      await sleep(attempt);
    }
  }

  /** A failed read: positions are kept, so the next one neither skips nor repeats an entry. */
  private async recover(plan: Map<string, Planned>, error: Error): Promise<void> {
    if (!isConnectionError(error) && this.connection.status === 'ready') await this.failKeysNotStreams(plan, error);
    if (this.failures === 0) this.logger.warn({ err: error.message, keys: plan.size }, 'stream hub could not read job streams; retrying');
    const delayMs = Math.min(100 * 2 ** this.failures, 1_000);
    this.failures += 1;
    this.alarm = new AbortController();
    await sleep(delayMs, undefined, { signal: this.alarm.signal }).catch(() => undefined);
    this.alarm = null;
  }

  /** One key holding something other than a stream fails the XREAD of all: its followers are dropped. */
  private async failKeysNotStreams(plan: Map<string, Planned>, error: Error): Promise<void> {
    const planned = [...plan.values()];
    const types = await Promise.all(planned.map(({ followed }) => this.connection.type(followed.key).catch(() => 'stream')));
    planned.forEach(({ followed }, index) => {
      if (types[index] === 'stream' || types[index] === 'none') return;
      for (const following of [...followed.followers]) followed.host.fail(following, error);
    });
  }
}
