-- Records provider calls' outcomes in the sliding window (all the outcomes one process had in one
-- event-loop turn, in one call) and opens the circuit when, in the last window, at least
-- `min_requests` finished and `failure_ratio` of them failed.
-- KEYS: state, all, failed, latency
-- ARGV: window (ms), min_requests, failure_ratio, cooldown (ms), then per outcome: at (ms), member, ok (1/0), latency (ms; -1: none)
-- Returns 1 when these outcomes opened the circuit (so exactly one process runs the pause-and-move), else 0.
local window = tonumber(ARGV[1])
local now = 0
local failed = false
for i = 5, #ARGV, 4 do
  local at = tonumber(ARGV[i])
  if at > now then now = at end
  redis.call('ZADD', KEYS[2], at, ARGV[i + 1])
  if ARGV[i + 2] == '0' then
    redis.call('ZADD', KEYS[3], at, ARGV[i + 1])
    failed = true
  end
  if tonumber(ARGV[i + 3]) >= 0 then redis.call('LPUSH', KEYS[4], ARGV[i + 3]) end
end
redis.call('LTRIM', KEYS[4], 0, 199)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window * 2)
redis.call('PEXPIRE', KEYS[3], window * 2)
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'closed' then return 0 end
if not failed then return 0 end
local total = redis.call('ZCARD', KEYS[2])
local failures = redis.call('ZCARD', KEYS[3])
if total < tonumber(ARGV[2]) or failures < total * tonumber(ARGV[3]) then return 0 end
local cooldown = tonumber(ARGV[4])
redis.call('HSET', KEYS[1], 'state', 'open', 'reason', 'failure_ratio', 'opened_at', now, 'cooldown_ms', cooldown, 'probe_at', now + cooldown)
return 1
