-- Stores one response cache entry with its TTL, then bounds the tenant's entries: entries whose TTL
-- has passed leave both indexes (so they no longer count), then the oldest stored go past the cap.
-- KEYS: the entry, the tenant's entries by time stored, the tenant's entries by lapse time
-- ARGV: digest, value, ttl (ms), now (ms), cap, index TTL (ms)
-- Returns the digests evicted by the cap (the caller deletes their entries).
local now = tonumber(ARGV[4])
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
redis.call('ZADD', KEYS[2], now, ARGV[1])
redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), ARGV[1])
for _, digest in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do redis.call('ZREM', KEYS[2], digest) end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local evicted = {}
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if over > 0 then
  evicted = redis.call('ZRANGE', KEYS[2], 0, over - 1)
  for _, digest in ipairs(evicted) do
    redis.call('ZREM', KEYS[2], digest)
    redis.call('ZREM', KEYS[3], digest)
  end
end
-- The indexes outlive every entry they list (no TTL is longer than the index TTL).
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('PEXPIRE', KEYS[3], ARGV[6])
return evicted
