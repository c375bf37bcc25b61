-- Lengthens a record's TTL when it is shorter (a replay's fresh deadline); never shortens it.
-- KEYS: job
-- ARGV: TTL (ms)
-- Returns 1, or 0 when there is no such job.
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then return 0 end
if ttl >= 0 and ttl < tonumber(ARGV[1]) then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return 1
