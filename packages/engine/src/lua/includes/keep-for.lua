-- Keeps an existing key at least `ms` more: the bookkeeping lives as long as what it counts.
local function keep_for(key, ms)
  local ttl = redis.call('PTTL', key)
  if ttl == -1 or (ttl >= 0 and ttl < ms) then redis.call('PEXPIRE', key, ms) end
end
