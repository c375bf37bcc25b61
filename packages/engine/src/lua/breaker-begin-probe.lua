-- Claims the health probe of an open circuit whose cooldown is over (or whose prober vanished).
-- KEYS: state
-- ARGV: now (ms), probe timeout (ms)
-- Returns 1 when this caller probes, else 0.
local fields = redis.call('HMGET', KEYS[1], 'state', 'probe_at')
local now = tonumber(ARGV[1])
if fields[1] == 'open' and now >= tonumber(fields[2]) then
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'probe_at', now + tonumber(ARGV[2]))
  return 1
end
if fields[1] == 'half_open' and now >= tonumber(fields[2]) then
  redis.call('HSET', KEYS[1], 'probe_at', now + tonumber(ARGV[2]))
  return 1
end
return 0
