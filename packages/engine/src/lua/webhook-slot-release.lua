-- Gives a webhook delivery slot back, and folds how long it was held into the tenant's average
-- hold (a moving average, the newest hold weighing a fifth), which paces the waiting line.
-- KEYS: held, hold
-- ARGV: lease id, held for (ms), how long the average is kept (ms)
-- Returns 1 when the slot was still held, 0 when its lease had lapsed.
local released = redis.call('ZREM', KEYS[1], ARGV[1])
local sample = tonumber(ARGV[2])
local average = tonumber(redis.call('GET', KEYS[2]) or sample)
redis.call('SET', KEYS[2], math.floor(average * 0.8 + sample * 0.2), 'PX', ARGV[3])
return released
