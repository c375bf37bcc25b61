-- Writes fields only while the record exists: a late write never recreates an expired record
-- without its TTL.
-- KEYS: job
-- ARGV: field pairs...
-- Returns 1, or 0 when there is no such job.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
