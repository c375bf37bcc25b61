-- Ends a probe: success closes the circuit with a fresh window; failure re-opens it with the
-- cooldown doubled (capped).
-- KEYS: state, all, failed
-- ARGV: now (ms), healthy (1/0), max cooldown (ms)
-- Returns 1 when the state changed, 0 when the circuit was not half-open.
if redis.call('HGET', KEYS[1], 'state') ~= 'half_open' then return 0 end
local now = tonumber(ARGV[1])
if ARGV[2] == '1' then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
  return 1
end
local cooldown = math.min(tonumber(redis.call('HGET', KEYS[1], 'cooldown_ms')) * 2, tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'state', 'open', 'cooldown_ms', cooldown, 'probe_at', now + cooldown)
return 1
