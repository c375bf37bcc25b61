-- Shared by the file scripts: what a tenant holds. `held` is a sorted set of file and upload ids by
-- deadline (ms): a file until it expires, an upload until its lease lapses. `held_bytes` has each
-- one's bytes and `held_total` their sum; the three change only together.
--!include includes/keep-for.lua

-- Drops what the tenant no longer holds (files past their TTL, uploads whose API process died), at
-- most 1000 entries a call, and lowers the total by their bytes.
local function prune_held(held, held_bytes, held_total, now)
  local gone = redis.call('ZRANGEBYSCORE', held, '-inf', now, 'LIMIT', 0, 1000)
  if #gone == 0 then return end
  local freed = 0
  for _, size in ipairs(redis.call('HMGET', held_bytes, unpack(gone))) do freed = freed + (tonumber(size) or 0) end
  redis.call('HDEL', held_bytes, unpack(gone))
  redis.call('ZREM', held, unpack(gone))
  redis.call('DECRBY', held_total, freed)
end

-- Bytes the tenant holds now.
local function held_now(held_total)
  return tonumber(redis.call('GET', held_total) or '0')
end

-- Seconds until the tenant holds less than now: its soonest deadline (at least 1).
local function seconds_until_freed(held, now)
  local first = redis.call('ZRANGE', held, 0, 0, 'WITHSCORES')
  if not first[2] then return 1 end
  return math.max(1, math.ceil((tonumber(first[2]) - now) / 1000))
end
