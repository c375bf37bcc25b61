-- Ends an upload that will not become a file: its partial content goes, its lease and held bytes
-- are released. Does nothing to an upload already committed or lapsed.
-- KEYS: uploads, held, held_bytes, held_total, partial
-- ARGV: id
redis.call('DEL', KEYS[5])
if redis.call('ZREM', KEYS[1], ARGV[1]) == 0 then return 0 end
local size = redis.call('HGET', KEYS[3], ARGV[1])
if size then
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
  redis.call('DECRBY', KEYS[4], tonumber(size))
end
return 1
