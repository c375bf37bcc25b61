import type { JobsOptions, Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { TurnBatches } from '@sluice/shared';
import { fairShareKey } from '../keys.ts';
import type { Priority, Tier } from '../schemas/job-request.ts';
import { defineScripts } from '../scripts.ts';
import type { QueuedJobData } from './payloads.ts';
import { PROVIDER_JOB_NAME } from './queues.ts';

const PRIORITY_CLASS: Record<Priority, number> = { high: 0, normal: 1, low: 2 };
const TIER_RANK: Record<Tier, number> = { premium: 0, standard: 1, economy: 2 };

/** BullMQ's highest priority number (2^21 - 1); Sluice's three classes split the range below it evenly. */
const BULL_PRIORITY_LIMIT = 2 ** 21 - 1;
export const CLASS_SPAN = Math.floor(BULL_PRIORITY_LIMIT / 3);

/** One queue entry to write: the record it runs, and what places it. */
export interface EntrySpec {
  jobId: string;
  /** The BullMQ job id (the record's `queue_job_id`). */
  entryId: string;
  tenant: string;
  priority: Priority;
  tier: Tier;
  /** A retry's backoff: the entry waits this long (placed now, like a new job). */
  delayMs?: number;
}

/** How an entry writer numbers its classes (tests shrink them). */
export interface EntryWriterOptions {
  /** Priority numbers per class (tests shrink it to exercise the rebase). Default `CLASS_SPAN`. */
  classSpan?: number;
  /** Entries a rebase in progress moves per call. Default 64. */
  rebaseChunk?: number;
}

/**
 * Writes entries on the provider queues, placed by weighted fair share: within a priority class,
 * tenants are served in proportion to their weight (start-time fair queuing; `lua/fair-tag.lua`
 * keeps the tags in Redis, beside the queue, so every process places entries against the same
 * state). The placement is BullMQ's own priority number, so BullMQ's queue does the rest.
 */
export class EntryWriter {
  private readonly span: number;
  private readonly chunk: number;

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    readonly queues: ReadonlyMap<string, Queue<QueuedJobData>>,
    private readonly weightOf: (tenant: string) => number,
    options: EntryWriterOptions = {},
  ) {
    this.span = options.classSpan ?? CLASS_SPAN;
    this.chunk = options.rebaseChunk ?? 64;
  }

  queue(provider: string): Queue<QueuedJobData> {
    const queue = this.queues.get(provider);
    if (queue === undefined) throw new Error(`no queue for provider ${provider}`);
    return queue;
  }

  /**
   * The BullMQ priority of each entry: its class, its tenant's fair-share tag, its tier. Placements
   * asked for in one event-loop turn go to Redis as one script call per queue, at the end of the
   * turn (when the submits' corked writes leave too).
   */
  priorities(queue: Queue<QueuedJobData>, specs: readonly EntrySpec[]): Promise<number[]> {
    return this.placements.add(queue, specs);
  }

  private readonly placements = new TurnBatches<Queue<QueuedJobData>, readonly EntrySpec[], number[]>((queue, batch) => this.place(queue, batch));

  /** Places a turn's entries on one queue in one script call; each caller gets its own entries' priorities. */
  private async place(queue: Queue<QueuedJobData>, batch: (readonly EntrySpec[])[]): Promise<number[][]> {
    const args: (string | number)[] = [`${queue.qualifiedName}:`, this.span, this.chunk];
    for (const specs of batch) {
      for (const spec of specs) args.push(PRIORITY_CLASS[spec.priority], TIER_RANK[spec.tier], spec.tenant, this.weightOf(spec.tenant));
    }
    const { prioritized = '', active = '', delayed = '' } = queue.keys;
    const priorities = await defineScripts(this.redis).sluiceFairTag(fairShareKey(this.prefix, queue.name), prioritized, active, delayed, ...args);
    let offset = 0;
    return batch.map((specs) => {
      const own = priorities.slice(offset, offset + specs.length);
      offset += specs.length;
      return own;
    });
  }

  /**
   * Writes the entries on `provider`'s queue: places them, then one bulk add. `sent` runs once the
   * first command is on its way (the caller's corked writes may leave with it).
   */
  async add(provider: string, specs: readonly EntrySpec[], sent: () => void = () => undefined): Promise<void> {
    const queue = this.queue(provider);
    const placing = this.priorities(queue, specs);
    sent();
    const priorities = await placing;
    const entries = specs.map((spec, index) => ({ name: PROVIDER_JOB_NAME, data: { id: spec.jobId }, opts: entryOptions(spec, priorities[index] ?? 1) }));
    const first = entries[0];
    await (entries.length === 1 && first !== undefined ? queue.add(first.name, first.data, first.opts) : queue.addBulk(entries));
  }
}

/**
 * BullMQ options for an entry on a provider queue. BullMQ makes one attempt: the worker owns retries,
 * backoff and failover, re-enqueueing a new entry, so the record always names the live one. How many
 * finished entries stay as history for operators is the provider Worker's setting (`keptEntries`),
 * not each entry's: some 90 bytes less per waiting job.
 */
function entryOptions(spec: EntrySpec, priority: number): JobsOptions {
  return {
    jobId: spec.entryId,
    priority,
    ...((spec.delayMs ?? 0) > 0 ? { delay: spec.delayMs } : {}),
  };
}
