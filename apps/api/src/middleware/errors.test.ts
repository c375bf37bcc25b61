import { describe, expect, it } from 'vitest';
import { ReplyError } from 'ioredis';
import { toApiError } from './errors.ts';

describe('toApiError: Redis away', () => {
  // The messages ioredis gives when a server or a Cluster's shard cannot be reached.
  const away = [
    new Error("Stream isn't writeable and enableOfflineQueue options is false"),
    new Error('Connection is closed.'),
    new Error("Cluster isn't ready and enableOfflineQueue options is false"),
    new Error('Too many Cluster redirections. Last error: ReplyError: CLUSTERDOWN The cluster is down'),
    new ReplyError('CLUSTERDOWN Hash slot not served'),
    new ReplyError('TRYAGAIN Multiple keys request during rehashing of slot'),
    new Error('None of startup nodes is available'),
    new Error('Failed to refresh slots cache.'),
  ];
  for (const error of away) {
    it(`answers 503 redis_unavailable, with Retry-After, for "${error.message.slice(0, 60)}"`, () => {
      expect(toApiError(error)).toMatchObject({ status: 503, code: 'redis_unavailable', retryAfter: 1 });
    });
  }

  it('answers 500 for any other error, without its message', () => {
    const answer = toApiError(new ReplyError('ERR wrong number of arguments'));
    expect(answer).toMatchObject({ status: 500, code: 'internal_error' });
    expect(answer.message).not.toContain('wrong number');
  });
});
