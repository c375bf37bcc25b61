-- Stores one response cache entry with its TTL, then bounds the tenant's entries: entries whose TTL
-- has passed leave both indexes (so they no longer count), then the oldest stored go past the cap.
-- Returns the digests evicted by the cap (their entries are the caller's to delete).
local function cache_put(entry, stored, expiring, digest, value, ttl_ms, now, cap, index_ttl_ms)
  redis.call('SET', entry, value, 'PX', ttl_ms)
  redis.call('ZADD', stored, now, digest)
  redis.call('ZADD', expiring, now + tonumber(ttl_ms), digest)
  for _, lapsed in ipairs(redis.call('ZRANGEBYSCORE', expiring, '-inf', now)) do redis.call('ZREM', stored, lapsed) end
  redis.call('ZREMRANGEBYSCORE', expiring, '-inf', now)
  local evicted = {}
  local over = redis.call('ZCARD', stored) - tonumber(cap)
  if over > 0 then
    evicted = redis.call('ZRANGE', stored, 0, over - 1)
    for _, old in ipairs(evicted) do
      redis.call('ZREM', stored, old)
      redis.call('ZREM', expiring, old)
    end
  end
  -- The indexes outlive every entry they list (no TTL is longer than the index TTL).
  redis.call('PEXPIRE', stored, index_ttl_ms)
  redis.call('PEXPIRE', expiring, index_ttl_ms)
  return evicted
end
