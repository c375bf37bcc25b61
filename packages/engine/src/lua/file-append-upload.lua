-- Appends a chunk to an upload, counting its bytes as held by the tenant, and renews the lease.
-- KEYS: uploads, held, held_bytes, held_total, partial
-- ARGV: id, now (ms), lease (ms), max_bytes, chunk
-- Returns {'ok', bytes} or {code, retry_after_s}.
--!include includes/file-held.lua
local id, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if tonumber(redis.call('ZSCORE', KEYS[1], id) or '0') <= now then return {'lease_lost', 0} end
prune_held(KEYS[2], KEYS[3], KEYS[4], now)
local size = string.len(ARGV[5])
if held_now(KEYS[4]) + size > tonumber(ARGV[4]) then return {'file_storage_limit', seconds_until_freed(KEYS[2], now)} end
redis.call('APPEND', KEYS[5], ARGV[5])
redis.call('PEXPIRE', KEYS[5], lease)
redis.call('HINCRBY', KEYS[3], id, size)
redis.call('INCRBY', KEYS[4], size)
redis.call('ZADD', KEYS[1], now + lease, id)
redis.call('ZADD', KEYS[2], now + lease, id)
for i = 1, 4 do keep_for(KEYS[i], lease) end
return {'ok', size}
