import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createLogger, createRedis, waitUntilReady, type Redis } from '@sluice/shared';
import { jobEventsChannel, jobRecordKey } from '@sluice/engine';
import { createJobWatcher } from './job-watcher.ts';

const eventually = async (check: () => boolean, timeoutMs: number, what: string): Promise<void> => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what} not seen in ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

// Safety reads this far apart leave the test's publish of `running` and its write of the end (tens of
// ms apart, both just after a read) well inside one gap, even on a loaded machine: a read between
// them would find `queued` and announce it again.
const SAFETY_READ_MS = 500;
const WAIT_MS = 5_000;

describe('job watcher', () => {
  let redis: Redis;
  const prefix = `watcher-${randomUUID().slice(0, 8)}`;
  const logs: string[] = [];
  const logger = createLogger({ level: 'info', destination: { write: (line: string) => void logs.push(line) } });

  beforeAll(async () => {
    redis = createRedis(inject('redisUrl'), { role: 'command', connectionName: 'job-watcher-test' });
    await waitUntilReady(redis);
  });
  afterAll(() => redis.disconnect());

  it('subscribes again to a channel its connection lost, and hears later changes on it; an end never announced is found by the safety read', async () => {
    const watcher = createJobWatcher(redis, prefix, logger, async () => null, { safetyReadMs: SAFETY_READ_MS });
    const id = `job_${randomUUID().replaceAll('-', '').slice(0, 22)}`;
    try {
      const channel = jobEventsChannel(prefix, id);
      const heard: string[] = [];
      await redis.hset(jobRecordKey(prefix, id), 'status', 'queued');
      const stop = await watcher.watch(id, (status) => void heard.push(status));
      await eventually(() => heard.includes('queued'), WAIT_MS, 'the status read once subscribed');
      // The subscription goes without the watcher knowing (as seen under heavy load).
      const subscriber = (watcher as unknown as { subscriber: Redis }).subscriber;
      await subscriber.unsubscribe(channel);
      expect(Number((await redis.pubsub('NUMSUB', channel))[1])).toBe(0);
      await eventually(() => logs.some((line) => line.includes('subscriptions it had lost')), WAIT_MS, 'the lost subscription noticed');
      const deadline = Date.now() + WAIT_MS;
      while (Number((await redis.pubsub('NUMSUB', channel))[1]) !== 1) {
        if (Date.now() > deadline) throw new Error('not subscribed again');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Only the channel says running (the record still says queued): hearing it proves the subscription is back.
      await redis.publish(channel, 'running');
      await eventually(() => heard.includes('running'), WAIT_MS, 'running, from the channel');
      // An end written without a message is found by the next safety read, and logged (it ended seconds
      // ago, so its message is not merely still unread).
      await redis.hset(jobRecordKey(prefix, id), 'status', 'succeeded', 'completed_at', Math.floor(Date.now() / 1000) - 5);
      await eventually(() => heard.includes('succeeded'), WAIT_MS, 'the end, from the safety read');
      await eventually(() => logs.some((line) => line.includes('whose news never came') && line.includes(id)), WAIT_MS, 'the lost end logged');
      // (A listener may hear a status twice: once as it is read, once as the status last seen when it joins.)
      expect(heard.filter((status, index) => status !== heard[index - 1])).toEqual(['queued', 'running', 'succeeded']);
      stop();
    } finally {
      await watcher.close();
      await redis.del(jobRecordKey(prefix, id));
    }
  });
});
