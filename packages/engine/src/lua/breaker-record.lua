-- Records one provider call's outcome in the sliding window and opens the circuit when, in the last
-- window, at least `min_requests` finished and `failure_ratio` of them failed.
-- KEYS: state, all, failed, latency
-- ARGV: now (ms), window (ms), member, ok (1/0), min_requests, failure_ratio, cooldown (ms), latency (ms; -1: none)
-- Returns 1 when this call opened the circuit (so exactly one process runs the pause-and-move), else 0.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
redis.call('ZADD', KEYS[2], now, ARGV[3])
if ARGV[4] == '0' then redis.call('ZADD', KEYS[3], now, ARGV[3]) end
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now - window)
redis.call('PEXPIRE', KEYS[2], window * 2)
redis.call('PEXPIRE', KEYS[3], window * 2)
if tonumber(ARGV[8]) >= 0 then
  redis.call('LPUSH', KEYS[4], ARGV[8])
  redis.call('LTRIM', KEYS[4], 0, 199)
end
local state = redis.call('HGET', KEYS[1], 'state')
if state and state ~= 'closed' then return 0 end
if ARGV[4] ~= '0' then return 0 end
local total = redis.call('ZCARD', KEYS[2])
local failures = redis.call('ZCARD', KEYS[3])
if total < tonumber(ARGV[5]) or failures < total * tonumber(ARGV[6]) then return 0 end
local cooldown = tonumber(ARGV[7])
redis.call('HSET', KEYS[1], 'state', 'open', 'reason', 'failure_ratio', 'opened_at', now, 'cooldown_ms', cooldown, 'probe_at', now + cooldown)
return 1
