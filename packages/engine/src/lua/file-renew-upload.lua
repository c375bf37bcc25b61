-- Renews an upload's lease (and the life of its partial content); 0 when it has lapsed already.
-- KEYS: uploads, held, held_bytes, held_total, partial
-- ARGV: id, now (ms), lease (ms)
--!include includes/file-held.lua
local id, now, lease = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
if tonumber(redis.call('ZSCORE', KEYS[1], id) or '0') <= now then return 0 end
redis.call('ZADD', KEYS[1], now + lease, id)
redis.call('ZADD', KEYS[2], now + lease, id)
if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('PEXPIRE', KEYS[5], lease) end
for i = 1, 4 do keep_for(KEYS[i], lease) end
return 1
