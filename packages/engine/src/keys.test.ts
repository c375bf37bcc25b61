import { describe, expect, it } from 'vitest';
import * as keys from './keys.ts';

// The names are where data lives in a running Redis: a changed string strands what is stored.
describe('Redis key names', () => {
  const at = Date.UTC(2025, 2, 4, 5, 6, 7) / 1000;

  it('stay byte for byte what existing data is stored under', () => {
    expect([
      keys.jobRecordKey('p', 'job_1'),
      keys.tenantJobsKey('p', 't'),
      keys.deadlineIndexKey('p'),
      keys.requeuingKey('p'),
      keys.cancelChannel('p'),
      keys.jobEventsChannel('p', 'job_1'),
      keys.jobStreamKey('p', 'job_1'),
      keys.jobStreamKey('p', 'job_1', true),
      keys.jobStreamKey('{p}', 'job_1', true),
      keys.idempotencyKey('p', 't', 'abc'),
      keys.batchKey('p', 'b'),
      keys.batchChildrenKey('p', 'b'),
      keys.batchLineErrorsKey('p', 'b'),
      keys.tenantBatchesKey('p', 't'),
      keys.usageKey('p', at),
      keys.queueWaitKey('p', at),
      keys.spendKey('p', 't', at),
      keys.lockKey('p', 'expiry'),
      keys.deadLettersBase('p'),
      keys.failedDeliveriesBase('p'),
      keys.failedDeliveryKey('p', 'msg_1'),
      keys.legacyFileKeys('p').meta('f'),
      keys.legacyFileKeys('p').content('f'),
    ]).toEqual([
      'p:job:job_1',
      'p:tenant:t:jobs',
      'p:expiry',
      'p:requeuing',
      'p:cancel',
      'p:job-events:job_1',
      'p:job:job_1:stream',
      '{p:job:job_1}:stream',
      '{p}:job:job_1:stream',
      'p:idem:t:abc',
      'p:batch:b',
      'p:batch:b:jobs',
      'p:batch:b:line-errors',
      'p:tenant:t:batches',
      'p:usage:2025-03-04T05',
      'p:queue-wait:2025-03-04T05:06',
      'p:spend:t:2025-03',
      'p:lock:expiry',
      'p:{dead-letters}',
      'p:{webhooks-failed}',
      'p:{webhooks-failed}:entry:msg_1',
      'p:file:f',
      'p:file:f:content',
    ]);
  });

  it('keep the hash tags that put one script\'s keys in one Cluster slot', () => {
    const files = keys.fileKeys('p', 't');
    expect([files.meta('f'), files.content('f'), files.partial('f'), files.index, files.held, files.heldBytes, files.heldTotal, files.uploads]).toEqual([
      'p:{files:t}:file:f', 'p:{files:t}:file:f:content', 'p:{files:t}:upload:f', 'p:{files:t}:index',
      'p:{files:t}:held', 'p:{files:t}:held-bytes', 'p:{files:t}:held-total', 'p:{files:t}:uploads',
    ]);
    expect(keys.breakerKeys('p', 'openai')).toEqual({
      state: 'p:{breaker:openai}:state', all: 'p:{breaker:openai}:all', failed: 'p:{breaker:openai}:failed',
      latency: 'p:{breaker:openai}:latency', paused: 'p:{breaker:openai}:paused',
    });
    expect(keys.rateKeys('p', 'k')).toEqual({
      requests: 'p:{rate:k}:requests', tokenLog: 'p:{rate:k}:token-log', tokens: 'p:{rate:k}:tokens', sum: 'p:{rate:k}:token-sum',
    });
    expect(keys.webhookSlotKeys('p', 't')).toEqual({ held: 'p:{webhook-slots:t}:held', waiting: 'p:{webhook-slots:t}:waiting', hold: 'p:{webhook-slots:t}:hold-ms' });
    const cache = keys.cacheKeys('p', 't');
    expect([cache.entry('d'), cache.stored, cache.expiring]).toEqual(['p:{cache:t}:entry:d', 'p:{cache:t}:stored', 'p:{cache:t}:expiring']);
    expect(keys.tenantJobKeys('p', 't')).toEqual({ active: 'p:{tenant-jobs:t}:active', running: 'p:{tenant-jobs:t}:running' });
  });
});
