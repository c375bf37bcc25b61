-- Replaces a request's token estimate with its real usage, if it is still in the window.
-- KEYS: tokens, token sum
-- ARGV: member, actual tokens
-- Returns the change in tokens, or 0 when the request has left the window.
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if not previous then return 0 end
local delta = tonumber(ARGV[2]) - tonumber(previous)
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCRBY', KEYS[2], delta)
return delta
