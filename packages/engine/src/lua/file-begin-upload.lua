-- Starts an upload: a lease among the tenant's `max_uploads`, refused while the tenant holds its
-- `max_bytes` already. The lease (and the bytes the upload holds) lapse unless renewed.
-- KEYS: uploads, held, held_bytes, held_total
-- ARGV: id, now (ms), lease (ms), max_uploads, max_bytes
-- Returns {'ok', 0} or {code, retry_after_s}.
--!include includes/file-held.lua
local id, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[4]) then return {'too_many_uploads', 1} end
prune_held(KEYS[2], KEYS[3], KEYS[4], now)
if held_now(KEYS[4]) >= tonumber(ARGV[5]) then return {'file_storage_limit', seconds_until_freed(KEYS[2], now)} end
redis.call('ZADD', KEYS[1], now + lease, id)
redis.call('ZADD', KEYS[2], now + lease, id)
redis.call('HSET', KEYS[3], id, 0)
redis.call('INCRBY', KEYS[4], 0)
for i = 1, 4 do keep_for(KEYS[i], lease) end
return {'ok', 0}
