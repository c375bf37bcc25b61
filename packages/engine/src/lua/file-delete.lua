-- Deletes a file and lowers its tenant's held bytes; 0 when there is no such file.
-- KEYS: meta, content, index, held, held_bytes, held_total
-- ARGV: id
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
local size = redis.call('HGET', KEYS[5], ARGV[1])
if size then
  redis.call('HDEL', KEYS[5], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  redis.call('DECRBY', KEYS[6], tonumber(size))
end
return 1
