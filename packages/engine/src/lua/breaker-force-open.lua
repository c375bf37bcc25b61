-- Opens the circuit at once (a 401/403 means the provider is misconfigured).
-- KEYS: state
-- ARGV: now (ms), reason, cooldown (ms)
-- Returns 1 when it was closed, else 0.
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'closed' then return 0 end
local now = tonumber(ARGV[1])
redis.call('HSET', KEYS[1], 'state', 'open', 'reason', ARGV[2], 'opened_at', now, 'cooldown_ms', ARGV[3], 'probe_at', now + tonumber(ARGV[3]))
return 1
