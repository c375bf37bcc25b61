-- A sliding-window log of requests (for `rpm`) and of token charges (for `tpm`), shared by every
-- process. BullMQ's own limiter counts fixed windows and lets up to ~2x `max` through one sliding
-- window; providers count sliding windows, so this one does too.
-- KEYS: requests, token log, tokens, token sum
-- ARGV: now (ms), window (ms), rpm (0: none), tpm (0: none), member, estimated tokens
-- Returns 0 and records the request when it may go now, else the milliseconds until it may.
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local rpm = tonumber(ARGV[3])
local tpm = tonumber(ARGV[4])
local member = ARGV[5]
local estimate = tonumber(ARGV[6])
local wait = 0
if rpm > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
  local count = redis.call('ZCARD', KEYS[1])
  if count >= rpm then
    local blocking = redis.call('ZRANGE', KEYS[1], count - rpm, count - rpm, 'WITHSCORES')
    wait = math.max(wait, tonumber(blocking[2]) + window - now)
  end
end
if tpm > 0 then
  local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if #expired > 0 then
    local freed = 0
    for _, old in ipairs(expired) do
      freed = freed + tonumber(redis.call('HGET', KEYS[3], old) or '0')
      redis.call('HDEL', KEYS[3], old)
    end
    redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
    redis.call('DECRBY', KEYS[4], freed)
  end
  local used = tonumber(redis.call('GET', KEYS[4]) or '0')
  -- An empty window always admits one request, however large, so a huge job cannot wait forever.
  if used > 0 and used + estimate > tpm then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    if oldest[2] then wait = math.max(wait, tonumber(oldest[2]) + window - now) end
  end
end
if wait > 0 then return math.max(1, math.ceil(wait)) end
if rpm > 0 then
  redis.call('ZADD', KEYS[1], now, member)
  redis.call('PEXPIRE', KEYS[1], window)
end
if tpm > 0 then
  redis.call('ZADD', KEYS[2], now, member)
  redis.call('HSET', KEYS[3], member, estimate)
  redis.call('INCRBY', KEYS[4], estimate)
  redis.call('PEXPIRE', KEYS[2], window)
  redis.call('PEXPIRE', KEYS[3], window)
  redis.call('PEXPIRE', KEYS[4], window)
end
return 0
