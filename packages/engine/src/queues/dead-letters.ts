import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { createBoundedIndex } from '../indexes/bounded-index.ts';
import type { JobError, JobRecord } from '../jobs/job-types.ts';
import { deadLettersBase } from '../keys.ts';
import type { DeadLetterData } from './payloads.ts';
import { DEAD_LETTER_QUEUE } from './queues.ts';

/**
 * Jobs that failed for good, listed per tenant (and for admins across tenants), newest first. Each
 * tenant keeps at most `jobs.max_dead_letters_per_tenant`, none older than `jobs.retention_s` (its
 * record may be gone by then); the `dead-letter` queue mirrors them for Bull Board.
 */
export interface DeadLetterStore {
  add(record: JobRecord, error: JobError): Promise<void>;
  /** Takes a job out of the dead letters (its failure was undone before anyone saw it); false when it was not one. */
  remove(record: JobRecord): Promise<boolean>;
  /**
   * A dead letter replayed: its Bull Board entry goes, while its place in the listing stays (the
   * listing shows failed jobs only), so a client paging with it as the cursor loses nothing.
   */
  replayed(record: JobRecord): Promise<void>;
  has(id: string): Promise<boolean>;
  /** Job ids, newest first, of one tenant (or every tenant's when null), after a job id. */
  page<T>(tenant: string | null, options: { after?: string | undefined; limit: number }, load: (ids: string[]) => Promise<(T | null)[]>): Promise<{ data: T[]; has_more: boolean }>;
}

export function createDeadLetterStore(redis: Redis, queue: Queue, options: { prefix: string; retentionSeconds: number; maxPerTenant: number }): DeadLetterStore {
  const index = createBoundedIndex(redis, deadLettersBase(options.prefix), { maxAgeSeconds: options.retentionSeconds, maxPerTenant: options.maxPerTenant });
  return {
    async add(record, error) {
      const now = Date.now();
      const data: DeadLetterData = { id: record.id, tenant: record.tenant, model: record.model, error, failed_at: Math.floor(now / 1000) };
      await queue.add(DEAD_LETTER_QUEUE, data, { jobId: record.id, removeOnComplete: true, removeOnFail: true });
      const dropped = await index.add(record.tenant, record.id, now);
      await Promise.all(dropped.map((id) => queue.remove(id).catch(() => 0)));
    },
    async remove(record) {
      const [removed] = await Promise.all([index.remove(record.tenant, record.id), queue.remove(record.id).catch(() => 0)]);
      return removed;
    },
    async replayed(record) {
      await queue.remove(record.id).catch(() => 0);
    },
    has: (id) => index.has(id),
    page: (tenant, pageOptions, load) => index.page(tenant, pageOptions, load),
  };
}
