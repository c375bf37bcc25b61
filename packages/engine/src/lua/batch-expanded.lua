-- Marks a batch's expansion done with its total; finalizes at once when every child has already
-- finished.
-- KEYS: batch
-- ARGV: total, now (s)
-- Returns 1 when the batch is now finalizing, else 0.
local f = redis.call('HMGET', KEYS[1], 'status', 'completed', 'failed')
if not f[1] then return 0 end
redis.call('HSET', KEYS[1], 'expanded', '1', 'total', ARGV[1])
if f[1] ~= 'in_progress' and f[1] ~= 'cancelling' then return 0 end
if tonumber(f[2]) + tonumber(f[3]) < tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'status', 'finalizing', 'finalizing_at', ARGV[2], 'was', f[1])
return 1
