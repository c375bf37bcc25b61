-- Counts one finished child and, when every child of a fully expanded batch has finished, moves the
-- batch to `finalizing` so exactly one caller writes the output files.
-- KEYS: batch
-- ARGV: counter ('completed' or 'failed'), now (s)
-- Returns 1 when the batch is now finalizing, else 0.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local f = redis.call('HMGET', KEYS[1], 'status', 'expanded', 'total', 'completed', 'failed')
if f[2] ~= '1' then return 0 end
if f[1] ~= 'in_progress' and f[1] ~= 'cancelling' then return 0 end
if tonumber(f[4]) + tonumber(f[5]) < tonumber(f[3]) then return 0 end
redis.call('HSET', KEYS[1], 'status', 'finalizing', 'finalizing_at', ARGV[2], 'was', f[1])
return 1
