-- Writes a batch's fields, or adds to one counter, only while the batch exists: never recreates an
-- expired one without its TTL.
-- KEYS: batch
-- ARGV: field pairs..., or field, delta, 'incr'
-- Returns 1, or 0 when there is no such batch.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
if ARGV[3] == 'incr' then redis.call('HINCRBY', KEYS[1], ARGV[1], ARGV[2]) else redis.call('HSET', KEYS[1], unpack(ARGV)) end
return 1
